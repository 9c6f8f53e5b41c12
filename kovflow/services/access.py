"""Access in the service layer: the actor's relation to a case, the policy decision, the log.

Every service that touches case data calls ``check`` (which raises ``NotFound`` for a forbidden
case, exactly as for a missing one) and ``log`` (NEN 7513: who, on whose behalf, which case, what,
when, allowed or refused). A refusal is logged in its own transaction, because the work it
guarded rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kovflow.access.policy import Action, Relation, allowed, group_of, sees_route
from kovflow.actor import Actor
from kovflow.errors import NotFound
from kovflow.history import access_hash
from kovflow.services.context import App
from kovflow.store import repo
from kovflow.store.db import Connection, write


class Denied(Exception):
    """Raised inside a transaction when the policy refuses; turned into ``NotFound`` outside."""

    def __init__(self, case_number: str, case_id: int | None, action: Action, what: str) -> None:
        super().__init__(case_number)
        self.case_number, self.case_id, self.action, self.what = case_number, case_id, action, what


def relation(conn: Connection, actor: Actor, case_row: Any) -> Relation:
    """How the actor stands to the case: participant, same location, coordinator, admin, other."""
    # The coordinator and functioneel beheer stand outside every case, even when their account
    # is tied to a location or they were added to a case: they never see names or free text.
    group = group_of(actor.roles)
    if group in ("coordinator", "admin"):
        return Relation.COORDINATOR if group == "coordinator" else Relation.ADMIN
    if actor.user_id is not None and repo.is_participant(conn, case_row.id, actor.user_id):
        return Relation.PARTICIPANT
    if actor.user_id is not None:
        location_id, organisation = repo.user_organisation(conn, actor.user_id)
        if location_id == case_row.location_id:
            return Relation.SAME_LOCATION
        if organisation and organisation == repo.location_organisation(conn, case_row.location_id):
            return Relation.SAME_LOCATION
    return Relation.OTHER


def permits(conn: Connection, actor: Actor, case_row: Any, action: Action) -> bool:
    """The policy's answer; the installation's operator (CLI without --as) may do everything."""
    return actor.operator or allowed(relation(conn, actor, case_row), actor.roles, action)


def check(conn: Connection, actor: Actor, case_row: Any, action: Action, what: str) -> None:
    """Raise ``Denied`` unless the policy grants ``action`` on the case."""
    if not permits(conn, actor, case_row, action):
        raise Denied(case_row.case_number, case_row.id, action, what)


def visible_instances(conn: Connection, actor: Actor, rows: Iterable[Any]) -> list[Any]:
    """Route instances the actor may know of: compartments (meldcode) hide the others."""
    out = []
    for r in rows:
        if actor.operator or sees_route(r.route_id, actor.roles, actor.username,
                                        initiator=repo.instance_starter(conn, r.id)
                                        if r.route_id.startswith("meldcode") else "",
                                        excluded=_excluded(r)):
            out.append(r)
    return out


def _excluded(row: Any) -> frozenset[str]:
    # meldcode_medewerker records the staff member concerned; they never see the route.
    value = (row.data or {}).get("betrokken_medewerker") if hasattr(row, "data") else None
    return frozenset({value}) if isinstance(value, str) and value else frozenset()


def log(conn: Connection, actor: Actor, now: datetime, case_row: Any | None, action: Action,
        what: str, outcome: str = "allowed", on_behalf: str = "") -> None:
    """Append one hash-chained access record (in the caller's transaction)."""
    if case_row is None:
        _append(conn, actor, now, None, "", action, what, outcome, on_behalf)
    else:
        _append(conn, actor, now, case_row.id, case_row.case_number, action, what, outcome,
                on_behalf)


def _append(conn: Connection, actor: Actor, now: datetime, case_id: int | None,
            case_number: str, action: Action, what: str, outcome: str, on_behalf: str) -> None:
    seq, prev = repo.access_head(conn)
    row: dict[str, Any] = {
        "chain": "access", "seq": seq + 1, "at": now, "actor": actor.username,
        "on_behalf": on_behalf, "case_id": case_id, "case_number": case_number,
        "action": action.value, "what": what, "outcome": outcome, "prev_hash": prev}
    row["hash"] = access_hash(row)
    repo.add_rows(conn, repo.access_log, [row])


def refused(app: App, actor: Actor, denied: Denied) -> NotFound:
    """Log the refusal in its own transaction; return the error that looks like 'not found'."""
    now = app.clock.now()
    write(app.engine, lambda conn: _append(conn, actor, now, denied.case_id, denied.case_number,
                                           denied.action, denied.what, "refused", ""))
    return NotFound("case", denied.case_number)
