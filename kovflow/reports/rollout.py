"""The rollout tracker: per location, the ``locatie_uitrol`` step it stands at and for how long.

The coordinator follows the 7-step rollout of the wijkteam agreements (ROUTES.md, locatie_uitrol).
One query lists every location with its newest rollout instance; the age of the current step is
counted in werkdagen on the installation's calendar and compared with the step's threshold (the
state's idle duration in the route file). Same access rule and access log as the stalled-case
audit: the coordinator, functioneel beheer and the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kovflow.actor import Actor
from kovflow.errors import KovflowError
from kovflow.reports.stalled import ROLLOUT_ROUTE, idle_cutoff, require_audit_reader
from kovflow.services.context import App
from kovflow.store import stalled_repo
from kovflow.store.db import read

__all__ = ["RolloutRow", "rollout"]

NOT_STARTED = "Niet gestart"


@dataclass(frozen=True)
class RolloutRow:
    """One location's place in the rollout (``state`` "" when the rollout has not started)."""

    location: str  # code
    name: str  # the location's name (an organisation, not a person)
    wijk: str
    organisation: str
    state: str
    state_label: str  # Dutch, e.g. "3. Coach plant een afstemmingsgesprek ..."
    step: int | None  # 1..7 as in the stappenplan; None: not started, 8: done (geevalueerd)
    since: datetime | None  # when the location entered this step (aware UTC)
    werkdagen: int | None  # werkdagen since then
    finished: bool  # the rollout reached its final state
    overdue: bool  # open longer than the step's threshold


def _step_number(order: list[str], state: str) -> int | None:
    return order.index(state) + 1 if state in order else None


def rollout(app: App, actor: Actor) -> list[RolloutRow]:
    """Every location with its rollout step and its age, by location code."""
    now = require_audit_reader(app, actor, "rollout tracker")
    with read(app.engine) as conn:
        rows = stalled_repo.rollout_positions(conn, ROLLOUT_ROUTE)
    out: list[RolloutRow] = []
    for r in rows:
        if r.state is None:
            out.append(RolloutRow(r.code, r.name, r.wijk, r.organisation, "", NOT_STARTED, None,
                                  None, None, False, False))
            continue
        try:
            spec = app.catalog.get(ROLLOUT_ROUTE, r.route_version)
        except KovflowError:
            spec = app.catalog.get(ROLLOUT_ROUTE)
        st = spec.states.get(r.state)
        order = list(spec.states)
        since: datetime = r.updated_at if r.updated_at.tzinfo else r.updated_at.replace(tzinfo=UTC)
        finished = bool(st is not None and st.final) or r.closed_at is not None
        age = max(0, app.calendar.werkdagen_between(since, now))
        overdue = False
        if not finished and st is not None and st.idle is not None:
            overdue = since < idle_cutoff(app.calendar, now, st.idle)
        out.append(RolloutRow(
            location=r.code, name=r.name, wijk=r.wijk, organisation=r.organisation,
            state=r.state, state_label=st.label if st is not None else r.state,
            step=_step_number(order, r.state), since=since, werkdagen=age, finished=finished,
            overdue=overdue))
    return out
