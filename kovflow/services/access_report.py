"""A parent's right to know who accessed the child's file: the access log of one case in Dutch."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kovflow.access.policy import COMPARTMENTS
from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.services.context import App
from kovflow.store import repo
from kovflow.store.db import Connection, read

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_VERB = {"read": "bekeek", "write": "wijzigde", "search": "zocht"}


def access_report(app: App, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    """Every access to the case, oldest first, with a readable sentence (operator or admin)."""
    if not (actor.operator or "admin" in actor.roles):
        raise InvalidInput("an access report is made by functioneel beheer (role admin)")
    with read(app.engine) as conn:
        case_row = repo.case_by_number(conn, case_number)
        if case_row is None:
            raise NotFound("case", case_number)
        return report_rows(conn, case_row.id, case_row.created_at)


def report_rows(conn: Connection, case_id: int, opened: datetime) -> list[dict[str, Any]]:
    """The access records of one case in Dutch; steps of a compartment (meldcode) are named only
    'een beschermd onderdeel', because the report goes to the parents."""
    users = {u.username: u for u in repo.all_users(conn)}
    out = []
    # Records from before the case existed belong to no one's file (an earlier probe of the number).
    for r in (r for r in repo.access_rows(conn, case_id) if r.at >= opened):
        user = users.get(r.actor)
        who = f"{user.display_name or user.username} ({user.organisation or 'onbekend'})" \
            if user else ("de beheerder van kovflow" if r.actor == "operator" else r.actor)
        when = r.at.astimezone(_AMSTERDAM).strftime("%d-%m-%Y %H:%M")
        what = "een beschermd onderdeel" if any(c in r.what for c in COMPARTMENTS) else r.what
        verb = _VERB.get(r.action, r.action)
        outcome = "" if r.outcome == "allowed" else " (geweigerd: geen toegang)"
        out.append({"at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                    "what": what, "outcome": r.outcome,
                    "zin": f"{when}: {who} {verb} het dossier ({what}){outcome}"})
    return out
