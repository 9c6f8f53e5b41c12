"""Lists for beheer and the coordinator's dashboard: users, locations, route files, mail incidents.

``services.admin`` creates users and locations; this module lists them for the beheer pages
(admin only), reports the loaded route files with their check results, and gives the coordinator
the outbox incidents. None of these lists carry case data: an incident says which kind of mail to
which role failed and why, never the address or anything about a child.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from kovflow.actor import Actor
from kovflow.errors import NotFound, Problem
from kovflow.services.admin import _require_admin
from kovflow.services.context import App
from kovflow.store import repo
from kovflow.store.db import read

# Outbox rows the coordinator should know about: given up, or still failing and retried.
INCIDENT_STATUSES = ("dead", "pending")
# An SMTP error often quotes the address it refused; the incident list shows no addresses.
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    roles: tuple[str, ...]
    organisation: str
    location: str  # the location's code, or "" for users without one
    active: bool


@dataclass(frozen=True)
class LocationRow:
    code: str
    name: str
    wijk: str
    organisation: str
    coaches: tuple[str, ...]  # usernames of the location's coach(es) passende kinderopvang
    wijkcoaches: tuple[str, ...]  # usernames of the location wijkcoach(es)


@dataclass(frozen=True)
class RouteFile:
    route: str
    version: int
    title: str
    per: str
    file: str
    states: int
    transitions: int
    newest: bool


@dataclass(frozen=True)
class RouteFilesReport:
    folder: str
    files: tuple[RouteFile, ...]  # the versions the running installation has loaded
    problems: tuple[Problem, ...]  # a fresh check of the folder on disk, now


@dataclass(frozen=True)
class Incident:
    id: int
    template: str
    recipient_role: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    error: str


def _require_coordinator(actor: Actor) -> None:
    if not (actor.operator or actor.roles & {"coordinator", "admin"}):
        # The coordinator's pages do not exist for anyone else: same answer as a missing page.
        raise NotFound("page", "coordinator")


def list_users(app: App, actor: Actor) -> list[UserRow]:
    """Every account with its roles, organisation and location (admin)."""
    _require_admin(actor, "list users")
    with read(app.engine) as conn:
        codes = {loc.id: loc.code for loc in repo.all_locations(conn)}
        rows = repo.all_users(conn)
    return [UserRow(u.username, u.display_name, tuple(u.roles.split()), u.organisation,
                    codes.get(u.location_id, ""), bool(u.active)) for u in rows]


def list_locations(app: App, actor: Actor) -> list[LocationRow]:
    """Every location with its coach and location wijkcoach (the users tied to it) (admin)."""
    _require_admin(actor, "list locations")
    with read(app.engine) as conn:
        locations = repo.all_locations(conn)
        users = repo.all_users(conn)
    out = []
    for loc in locations:
        here = [u for u in users if u.location_id == loc.id and u.active]
        out.append(LocationRow(
            loc.code, loc.name, loc.wijk, loc.organisation,
            tuple(u.username for u in here if "coach" in u.roles.split()),
            tuple(u.username for u in here if "wijkcoach" in u.roles.split())))
    return out


def route_files(app: App, actor: Actor) -> RouteFilesReport:
    """The loaded route versions, and the problems a check of the route folder finds now (admin).

    The running catalog was checked when kovflow started (it refuses to start on a problem); the
    fresh check shows whether a file edited since then would break the next start.
    """
    from kovflow.resources import template_names, workflows_dir
    from kovflow.routes.catalog import check_folder

    _require_admin(actor, "see the route files")
    folder = app.settings.workflows_dir or workflows_dir()
    _, problems = check_folder(folder, template_names(), app.settings.route_settings)
    newest = {spec.id: spec.version for spec in app.catalog.latest()}
    files = tuple(RouteFile(s.id, s.version, s.title, s.per, s.file, len(s.states),
                            len(s.transitions), newest.get(s.id) == s.version)
                  for s in app.catalog)
    return RouteFilesReport(str(folder), files, tuple(problems))


def outbox_incidents(app: App, actor: Actor, limit: int = 50) -> list[Incident]:
    """Mail that failed: dead letters and rows being retried (coordinator and admin).

    Only delivery facts: kind of mail, role, status, attempts, moments and the error with any
    address in it blanked out.
    """
    from kovflow.notify.outbox import list_outbox

    _require_coordinator(actor)
    out: list[Incident] = []
    for status in INCIDENT_STATUSES:
        # Pending rows mostly wait for their first try; look further back to find the retried.
        for e in list_outbox(app, status, limit if status == "dead" else 20 * limit):
            if status == "pending" and e.attempts == 0:
                continue  # waiting for its first try: not an incident
            out.append(Incident(e.id, e.template, e.recipient_role, e.status, e.attempts,
                                e.created_at, e.next_attempt_at,
                                _ADDRESS.sub("[adres]", e.last_error)))
    return sorted(out, key=lambda i: (i.status != "dead", i.created_at))[:limit]
