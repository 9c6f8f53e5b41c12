"""FastAPI dependencies and helpers every page module uses: who is logged in, CSRF, rendering.

How a page module uses them::

    from typing import Annotated
    from fastapi import APIRouter, Depends, Request
    from kovflow.actor import Actor
    from kovflow.services import App
    from kovflow.web.deps import current_actor, kapp, redirect, render, require_csrf

    router = APIRouter()

    @router.get("/consultaties")
    def inbox_page(request: Request, actor: Annotated[Actor, Depends(current_actor)],
                   app: Annotated[App, Depends(kapp)]) -> Response:
        items = consultation.inbox(app, actor)        # the service checks access and logs
        return render(request, "inbox.html", items=items)

    @router.post("/consultaties/{cid}/antwoord", dependencies=[Depends(require_csrf)])
    async def answer(request: Request, cid: int, actor: Annotated[Actor, Depends(current_actor)],
                     app: Annotated[App, Depends(kapp)]) -> Response:
        form = await request.form()
        advice = str(form.get("advies") or "")
        # Services block (database, argon2): in an ``async def`` route call them through
        # ``starlette.concurrency.run_in_threadpool``, never directly on the event loop.
        await run_in_threadpool(consultation.answer, app, actor, cid, advice)
        return redirect("/consultaties", flash="Uw antwoord is verstuurd.")

A plain ``def`` route (like the GET above) already runs in the thread pool.

- ``current_actor`` reads the session cookie; without a valid session the visitor is sent to
  ``/login`` (303) and comes back to the page afterwards. It also puts the session on
  ``request.state`` so ``render`` can fill in the CSRF token and the navigation.
- ``require_csrf`` goes on EVERY state-changing (POST) route: each form carries
  ``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`` (``render`` provides
  ``csrf_token``); a missing or wrong token answers 403 and changes nothing.
- ``render(request, "page.html", **context)`` renders a template that extends ``base.html``
  (blocks ``title`` and ``content``) with ``actor``, ``csrf_token``, ``nav`` and ``flash`` added.
- ``redirect(url, flash=...)`` is the answer to a successful POST (303, Post/Redirect/Get); the
  flash text is shown once on the next page. Never put personal data in a flash or a URL.
- A ``kovflow.errors.NotFound`` (also the answer for a case the actor may not see) becomes the same
  404 page everywhere; ``InvalidInput`` a 400 page. Raise them; ``app.py`` renders them.

Paths of the navigation: ``/`` (Mijn taken), ``/consultaties`` (wijkcoach, jgz), ``/coordinator``
(coordinator), ``/beheer`` (admin), ``/logout`` (POST, with CSRF).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from kovflow.actor import Actor
from kovflow.services import App
from kovflow.web.templating import environment

if TYPE_CHECKING:
    from kovflow.services.accounts import Session

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "CsrfRefused",
    "LoginRequired",
    "NavItem",
    "current_actor",
    "current_session",
    "is_tls",
    "kapp",
    "redirect",
    "render",
    "require_csrf",
    "set_cookie",
]

SESSION_COOKIE = "kovflow_sessie"
# Before login there is no session yet: the login form uses a double-submit cookie instead.
LOGIN_CSRF_COOKIE = "kovflow_login_csrf"
FLASH_COOKIE = "kovflow_melding"


class LoginRequired(Exception):
    """No valid session: ``app.py`` answers with a redirect to ``/login?next=<path>``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """The form's CSRF token is missing or wrong."""


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    current: bool


# (label, path, roles that see it; empty = everyone logged in)
_NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Mijn taken", "/", frozenset()),
    ("Consultaties", "/consultaties", frozenset({"wijkcoach", "jgz"})),
    ("Coördinator", "/coordinator", frozenset({"coordinator", "admin"})),
    ("Beheer", "/beheer", frozenset({"admin"})),
)


def kapp(request: Request) -> App:
    """The kovflow ``App`` (database, routes, clock) this web application serves."""
    found: App = request.app.state.kapp
    return found


def is_tls(request: Request) -> bool:
    """Whether the page was requested over HTTPS (directly or via a trusted proxy header)."""
    return request.url.scheme == "https"


def current_session(request: Request) -> Session:
    """The valid session of this request; without one, ``LoginRequired`` (a redirect)."""
    from kovflow.services.accounts import NotAuthenticated, session_for

    cached: Session | None = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    # Back to the page after login; a form sent with an expired session goes to Mijn taken
    # (its POST address is no page to return to).
    target = (request.url.path + (f"?{request.url.query}" if request.url.query else "")
              if request.method == "GET" else "/")
    if not token:
        raise LoginRequired(target)
    try:
        session = session_for(kapp(request), token)
    except NotAuthenticated:
        raise LoginRequired(target) from None
    request.state.session = session
    return session


def current_actor(request: Request) -> Actor:
    """The logged-in user as an ``Actor`` (the services check access with it)."""
    return current_session(request).actor


async def require_csrf(request: Request) -> None:
    """Refuse a POST whose ``csrf_token`` field does not match the session's (constant time)."""
    session = await run_in_threadpool(current_session, request)  # reads the database
    form = await request.form()  # Starlette caches the parsed form: the route can read it again
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(),
                                                            session.csrf_token.encode()):
        raise CsrfRefused()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(request: Request, response: Any, name: str, value: str, *,
               max_age: int | None = None) -> None:
    """Set a cookie the way kovflow sets all of them: HttpOnly, SameSite=Lax, Secure on TLS."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_tls(request))


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 See Other to ``url`` (a local path), with an optional one-time message."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/"  # never redirect off-site
    response = RedirectResponse(url, status_code=303)
    if flash:
        # Flash texts are fixed Dutch sentences of kovflow, never personal data.
        response.set_cookie(FLASH_COOKIE, quote(flash), path="/", httponly=True, samesite="lax",
                            max_age=60)
    return response


def _nav(request: Request, actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    path = request.url.path
    items = []
    for label, href, roles in _NAV:
        if roles and not (roles & actor.roles):
            continue
        current = path in ("/", "/taken") if href == "/" else path.startswith(href)
        items.append(NavItem(label, href, current))
    return items


def render(request: Request, template: str, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """Render ``template`` with the page context plus ``actor``, ``csrf_token``, ``nav``,
    ``flash`` and ``request``; a flash message is shown once."""
    session: Session | None = getattr(request.state, "session", None)
    actor = session.actor if session is not None else None
    flash_raw = request.cookies.get(FLASH_COOKIE)
    values: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": _nav(request, actor),
        "flash": unquote(flash_raw) if flash_raw else None,
    }
    values.update(context)
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if flash_raw:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
