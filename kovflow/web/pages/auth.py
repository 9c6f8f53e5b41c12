"""Login and logout.

Login always makes a new session (the previous one, if the browser still had it, is ended:
rotation against session fixation). Before login there is no session to hold a CSRF token, so the
login form uses a double-submit cookie. Failed and throttled logins get a Dutch message that does
not say whether the user name exists.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kovflow.services import App
from kovflow.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    current_session,
    kapp,
    new_login_csrf,
    redirect,
    render,
    require_csrf,
    set_cookie,
)

router = APIRouter()


def _safe_next(value: object) -> str:
    """Only a local path: never send someone off-site after login (open redirect)."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text or text == "/login":
        return "/"
    return text


def _login_page(request: Request, *, error: str | None = None, username: str = "",
                next_path: str = "/", status_code: int = 200) -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", status_code=status_code, error=error,
                      username=username, next=next_path, login_csrf=token)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, next_path=_safe_next(request.query_params.get("next")))


@router.post("/login")
async def login_submit(request: Request, app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services.accounts import LoginRefused, LoginThrottled, login

    form = await request.form()
    sent, cookie = form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)
    if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent.encode(),
                                                                          cookie.encode()):
        raise CsrfRefused()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = _safe_next(form.get("next"))
    if not username or not password:
        return _login_page(request, error="Vul uw gebruikersnaam en wachtwoord in.",
                           username=username, next_path=next_path, status_code=400)
    address = request.client.host if request.client else "onbekend"
    try:
        # argon2id takes tens of milliseconds of CPU on purpose: not on the event loop.
        session = await run_in_threadpool(login, app, username, password, address,
                                          request.cookies.get(SESSION_COOKIE))
    except LoginThrottled as exc:
        # The service words it in Dutch with the minutes to wait.
        response = _login_page(request, error=str(exc), username=username,
                               next_path=next_path, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except LoginRefused:
        return _login_page(request, error="Onbekende gebruikersnaam of wachtwoord.",
                           username=username, next_path=next_path, status_code=401)
    response = redirect(next_path)
    set_cookie(request, response, SESSION_COOKIE, session.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout_submit(request: Request, app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services.accounts import logout

    session = current_session(request)
    logout(app, session.token)
    response = redirect("/login", flash="U bent uitgelogd.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
