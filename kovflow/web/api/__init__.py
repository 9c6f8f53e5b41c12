"""The JSON API (``/api/v1``): cases, route instances, steps, tasks, consents, audit, monitor.

A FastAPI sub-application mounted by ``kovflow.web.app``: its own OpenAPI document
(``/api/v1/openapi.json``), a server-rendered docs page without CDN (``/api/v1/docs``), bearer
token authentication (``auth.py``), errors as RFC 9457 problem details (``problems.py``). The
handlers (``cases.py``, ``work.py``) call the services with the token's actor and nothing below.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kovflow.services import App

DESCRIPTION = (
    "De API van kovflow voor andere systemen. Elke aanroep draagt een API-token "
    "(Authorization: Bearer <token>; functioneel beheer maakt het met `kovflow users token`). "
    "Dezelfde toegangsregels als in de webapplicatie: een casus die u niet mag zien, bestaat "
    "voor u niet (404). Fouten zijn RFC 9457 problem details (application/problem+json); een "
    "geweigerde stap noemt elke reden in `reasons`. Een stap (fire) vraagt If-Match met het "
    "ETag (de revisie) van de route: 412 als die niet meer klopt, 409 als iemand anders de "
    "route tijdens de stap wijzigde, 428 zonder If-Match."
)


def build_api(kapp: App) -> FastAPI:
    """The API sub-application; its OpenAPI document is served at ``/api/v1/openapi.json``."""
    from kovflow.web.api import cases, docs, problems, work

    api = FastAPI(title="kovflow API", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  dependencies=[Depends(known_query_parameters)])
    api.state.kapp = kapp
    problems.install(api)
    api.include_router(cases.router)
    api.include_router(work.router)
    _problem_schemas(api)
    api.add_middleware(NoStore)

    @api.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(docs.render(api.openapi()), headers=docs.HEADERS)

    return api


def known_query_parameters(request: Request) -> None:
    """Refuse query parameters an operation does not know: a mistyped filter (``?stat=open``)
    would otherwise be ignored silently and answer with more than the caller asked for."""
    from kovflow.errors import InvalidInput

    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    todo = [dependant]
    while todo:  # the operation's own parameters and those of its dependencies
        current = todo.pop()
        known.update(param.alias for param in current.query_params)
        todo.extend(current.dependencies)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        # Names only, never values; an unknown name is shortened so no free text is echoed.
        shown = ", ".join(repr(name[:30]) for name in unknown[:5])
        raise InvalidInput(f"unknown query parameter(s) {shown}; known: "
                           f"{', '.join(sorted(known)) or 'none'}")


def _problem_schemas(api: FastAPI) -> None:
    """Add the Problem schema the error responses refer to (no route returns it as a model)."""
    from kovflow.web.api.problems import Problem

    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            doc = generate()
            schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(schema.pop("$defs", {}))
            schemas["Problem"] = schema
        return api.openapi_schema or {}

    api.openapi = openapi  # type: ignore[method-assign]


class NoStore:
    """``Cache-Control: no-store`` on every answer: case data must not stay in a proxy or cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, with_header if scope["type"] == "http" else send)
