"""Administration: locations, users, and turning a username into an acting ``Actor``."""

from __future__ import annotations

from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.routes.spec import ROLES
from kovflow.services.context import App
from kovflow.store import repo
from kovflow.store.db import Connection, read, write


def _require_admin(actor: Actor, what: str = "manage users or locations") -> None:
    if not (actor.operator or "admin" in actor.roles):
        raise InvalidInput(f"{actor.username} may not {what} (role admin needed)")


def add_location(app: App, actor: Actor, code: str, name: str, wijk: str = "",
                 organisation: str = "") -> int:
    """Register a childcare location; ``code`` is its short, unique handle."""
    _require_admin(actor)
    if not code.strip() or not name.strip():
        raise InvalidInput("a location needs a code and a name")

    def work(conn: Connection) -> int:
        if repo.location_by_code(conn, code) is not None:
            raise InvalidInput(f"location {code!r} exists already")
        return repo.insert_returning_id(conn, repo.locations, {
            "code": code, "name": name, "wijk": wijk, "organisation": organisation})

    return write(app.engine, work)


def add_user(app: App, actor: Actor, username: str, roles: list[str], display_name: str = "",
             email: str = "", organisation: str = "", location: str | None = None) -> int:
    """Create an account with ``roles`` (see ROUTES.md), optionally tied to a location."""
    _require_admin(actor)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}")
    if not username.strip() or " " in username:
        raise InvalidInput("a username is one word without spaces")

    def work(conn: Connection) -> int:
        if repo.user_by_name(conn, username) is not None:
            raise InvalidInput(f"user {username!r} exists already")
        location_id = None
        if location:
            loc = repo.location_by_code(conn, location)
            if loc is None:
                raise NotFound("location", location)
            location_id = loc.id
        return repo.insert_returning_id(conn, repo.users, {
            "username": username, "display_name": display_name, "email": email,
            "roles": " ".join(roles), "organisation": organisation, "location_id": location_id,
            "active": True, "created_at": app.clock.now()})

    return write(app.engine, work)


def resolve_actor(app: App, username: str | None) -> Actor:
    """The acting user, or the installation operator when ``username`` is None."""
    if username is None:
        return Actor.installation_operator()
    with read(app.engine) as conn:
        row = repo.user_by_name(conn, username)
    if row is None or not row.active:
        raise NotFound("user", username)
    return Actor(row.username, frozenset(row.roles.split()), int(row.id))
