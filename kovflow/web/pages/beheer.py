"""Beheer (admin): users and roles, locations, loaded route files with their versions and checks.

One page, ``/beheer``, for functioneel beheer: the accounts with their roles, organisation and
location (add one; set a password), the locations with their coach and location wijkcoach (the
users tied to them; add one), and the route files the installation runs with a fresh check of the
folder. The forms post to ``/beheer/...`` with CSRF; the services (``services.admin``,
``services.accounts``, ``services.beheer``) decide and refuse. A form with a wrong value shows the
page again with the reason beside that form and the typed values kept (never the password);
nothing is stored. For anyone but admin the page does not exist (the same 404 as a missing page).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.services import App
from kovflow.web.deps import current_actor, kapp, redirect, render, require_csrf

router = APIRouter()


def _require_admin(actor: Actor, path: str) -> None:
    if "admin" not in actor.roles:
        raise NotFound("page", path)


def _page(request: Request, app: App, actor: Actor, *, status_code: int = 200,
          form: str = "", error: str = "", values: dict[str, Any] | None = None) -> Response:
    from kovflow.routes.spec import ROLES
    from kovflow.services.beheer import list_locations, list_users, route_files

    return render(request, "beheer.html", status_code=status_code,
                  users=list_users(app, actor), locations=list_locations(app, actor),
                  routes=route_files(app, actor), roles=ROLES,
                  form=form, error=error, values=values or {})


@router.get("/beheer")
def beheer_page(request: Request, actor: Annotated[Actor, Depends(current_actor)],
                app: Annotated[App, Depends(kapp)]) -> Response:
    _require_admin(actor, request.url.path)
    return _page(request, app, actor)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/beheer/gebruikers", dependencies=[Depends(require_csrf)])
async def add_user_form(request: Request, actor: Annotated[Actor, Depends(current_actor)],
                        app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services import add_user

    _require_admin(actor, request.url.path)
    form = await request.form()
    values: dict[str, Any] = {k: _text(form, k) for k in
                              ("gebruikersnaam", "naam", "email", "organisatie", "locatie")}
    values["rollen"] = [r for r in form.getlist("rollen") if isinstance(r, str)]
    try:
        if not values["gebruikersnaam"]:
            raise InvalidInput("vul de gebruikersnaam in")
        if not values["rollen"]:
            raise InvalidInput("kies minstens één rol")
        add_user(app, actor, values["gebruikersnaam"], values["rollen"],
                 display_name=values["naam"], email=values["email"],
                 organisation=values["organisatie"], location=values["locatie"] or None)
    except (InvalidInput, NotFound) as exc:
        return _page(request, app, actor, status_code=400, form="gebruiker",
                     error=_message(exc), values=values)
    return redirect("/beheer#gebruikers", flash="De gebruiker is toegevoegd. Stel nu een "
                    "wachtwoord in.")


@router.post("/beheer/wachtwoord", dependencies=[Depends(require_csrf)])
async def set_password_form(request: Request, actor: Annotated[Actor, Depends(current_actor)],
                            app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services.accounts import set_password

    _require_admin(actor, request.url.path)
    form = await request.form()
    username = _text(form, "gebruiker")
    password = form.get("wachtwoord")
    repeat = form.get("herhaal")
    try:
        if not username:
            raise InvalidInput("kies de gebruiker")
        if not isinstance(password, str) or not password:
            raise InvalidInput("vul het nieuwe wachtwoord in")
        if password != repeat:
            raise InvalidInput("de twee wachtwoorden zijn niet gelijk")
        set_password(app, actor, username, password)
    except (InvalidInput, NotFound) as exc:
        return _page(request, app, actor, status_code=400, form="wachtwoord",
                     error=_message(exc), values={"gebruiker": username})
    if username == actor.username:
        # A new password ends every session of the account, this one included.
        return redirect("/login")
    return redirect("/beheer#wachtwoord", flash="Het wachtwoord is ingesteld.")


@router.post("/beheer/locaties", dependencies=[Depends(require_csrf)])
async def add_location_form(request: Request, actor: Annotated[Actor, Depends(current_actor)],
                            app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services import add_location

    _require_admin(actor, request.url.path)
    form = await request.form()
    values = {k: _text(form, k) for k in ("code", "naam", "wijk", "organisatie")}
    try:
        if not values["code"] or not values["naam"]:
            raise InvalidInput("vul de code en de naam van de locatie in")
        if " " in values["code"]:
            raise InvalidInput("een locatiecode is één woord zonder spaties")
        add_location(app, actor, values["code"], values["naam"], values["wijk"],
                     values["organisatie"])
    except InvalidInput as exc:
        return _page(request, app, actor, status_code=400, form="locatie",
                     error=_message(exc), values=values)
    return redirect("/beheer#locaties", flash="De locatie is toegevoegd. Koppel de coach en de "
                    "locatie-wijkcoach door hen bij deze locatie aan te maken.")


def _message(exc: Exception) -> str:
    if isinstance(exc, NotFound):
        return {"location": "Die locatie bestaat niet.",
                "user": "Die gebruiker bestaat niet."}.get(exc.kind, str(exc))
    return str(exc)
