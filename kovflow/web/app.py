"""The ASGI application: the Dutch pages at ``/`` and the JSON API mounted at ``/api/v1``.

The API is a sub-application so that it carries its own OpenAPI document
(``/api/v1/openapi.json``) and docs page; the pages need none. Both work on the same ``App``.

Every answer carries the security headers (``SecurityHeaders``): a CSP without inline script,
nosniff, a same-origin referrer policy, no framing, and HSTS when served over TLS. Errors of the
pages become Dutch error pages: a missing object and one the visitor may not see give the very
same 404 page, so case numbers cannot be probed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kovflow.errors import InvalidInput, NotFound
from kovflow.services import App

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# FastAPI's interactive API docs page loads its assets and an inline script by design; it gets
# no CSP of the pages (the API's owner decides about it). Everything else does.
_NO_PAGE_CSP = ("/api/v1/docs", "/api/v1/redoc")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Pure ASGI middleware (cheaper per request than BaseHTTPMiddleware) adding the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not path.startswith(_NO_PAGE_CSP):
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"),
                            (b"x-frame-options", b"DENY")]
                if tls:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _error_page(request: Request, status: int, title: str, text: str) -> HTMLResponse:
    from kovflow.web.deps import render

    return render(request, "error.html", status_code=status, title=title, text=text)


def _install_error_pages(web: FastAPI) -> None:
    from kovflow.web.deps import CsrfRefused, LoginRequired

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        from urllib.parse import quote

        target = "/login" if exc.next_path in ("", "/") else f"/login?next={quote(exc.next_path)}"
        return RedirectResponse(target, status_code=303)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return _error_page(request, 403, "Formulier verlopen",
                           "Dit formulier is verlopen of kwam niet van kovflow. Er is niets "
                           "gewijzigd. Laad de pagina opnieuw en probeer het nog eens.")

    async def not_found(request: Request, exc: Exception) -> Response:
        # The same page for "does not exist" and "you may not see it" (privacy.md).
        return _error_page(request, 404, "Niet gevonden",
                           "Deze pagina of casus bestaat niet, of u heeft er geen toegang toe.")

    async def invalid(request: Request, exc: Exception) -> Response:
        return _error_page(request, 400, "Ongeldige invoer", str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/api/"):
            # A path the API's mount cannot route (e.g. with an encoded line feed) still gets the
            # API's answer, not an HTML page.
            from kovflow.web.api.problems import problem

            missing = exc.status_code == 404
            return problem(exc.status_code, "not-found" if missing else "http-error",
                           "Niet gevonden" if missing else "Fout",
                           "Dit adres bestaat niet in de API." if missing else str(exc.detail))
        if exc.status_code == 404:
            return await not_found(request, exc)
        if exc.status_code == 405:
            return _error_page(request, 405, "Niet toegestaan",
                               "Deze handeling kan niet op deze pagina.")
        return _error_page(request, exc.status_code, "Fout", str(exc.detail))

    handlers: dict[Any, Any] = {
        LoginRequired: login_required, CsrfRefused: csrf_refused, NotFound: not_found,
        InvalidInput: invalid, StarletteHTTPException: http_error,
    }
    for kind, handler in handlers.items():
        web.add_exception_handler(kind, handler)


def create_app(kapp: App) -> FastAPI:
    """The whole web application for one kovflow ``App`` (database, routes, clock)."""
    from kovflow.web.api import build_api
    from kovflow.web.pages import router

    web = FastAPI(title="kovflow", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.kapp = kapp
    web.mount("/api/v1", build_api(kapp))
    web.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    web.include_router(router)
    _install_error_pages(web)
    web.add_middleware(SecurityHeaders)
    return web
