"""The cases an actor may see, as a pseudonymous list (``GET /api/v1/cases``).

One read, the policy per case, one access-log record for the search. It reads through
``kovflow.store.repo`` and decides through ``kovflow.services.access`` only.

The list never carries names or birth dates, so the coordinator's pseudonymised access and full
access give the same kind of row; compartment routes (meldcode) the actor may not know of are
left out of a row's routes, and filtering on such a route finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from kovflow.access.policy import Action
from kovflow.actor import Actor
from kovflow.errors import InvalidInput
from kovflow.services import access
from kovflow.services.context import App
from kovflow.store import repo
from kovflow.store.db import read, write

# How many case rows one request reads at most while looking for visible ones: a partner who
# takes part in few cases pages through a large installation in bounded steps (next_after).
SCAN = 2000


@dataclass(frozen=True)
class CaseRow:
    case_number: str
    location: str
    routes: tuple[tuple[str, int, str], ...]  # (route, instance id, state)


def visible_cases(app: App, actor: Actor, *, location: str | None = None,
                  route: str | None = None, state: str | None = None, after: str | None = None,
                  limit: int = 50) -> tuple[list[CaseRow], str | None]:
    """Cases the actor may read (fully or pseudonymised) in case-number order, and the cursor
    for the next page (None on the last page)."""
    if route is not None:
        app.catalog.get(route)  # an unknown route is NotFound, not an empty list
    now = app.clock.now()
    found: list[CaseRow] = []
    cursor: str | None = None
    with read(app.engine) as conn:
        locations = {row.id: row.code for row in repo.all_locations(conn)}
        location_id = None
        if location is not None:
            location_id = next((i for i, c in locations.items() if c == location), None)
            if location_id is None:
                raise InvalidInput(f"unknown location {location!r}")
        # The cursor is compared, never looked up: whether the named case exists (or may be
        # seen) makes no difference to the answer, so it cannot be used to probe numbers.
        rows = repo.cases_page(conn, after, location_id, SCAN)
        for row in rows:
            cursor = row.case_number
            if not (access.permits(conn, actor, row, Action.READ)
                    or access.permits(conn, actor, row, Action.READ_PSEUDONYMISED)):
                continue
            instances = access.visible_instances(conn, actor, repo.case_instances(conn, row.id))
            if (route or state) and not any(
                    (route is None or i.route_id == route) and (state is None or i.state == state)
                    for i in instances):
                continue
            found.append(CaseRow(row.case_number, locations.get(row.location_id, ""),
                                 tuple((i.route_id, i.id, i.state) for i in instances)))
            if len(found) == limit:
                break
        more = len(found) == limit or len(rows) == SCAN
    # NEN 7513: a search is logged once, with what was asked (codes only, no personal data).
    what = f"case list location={location or '*'} route={route or '*'} state={state or '*'}"
    write(app.engine, lambda conn: access.log(conn, actor, now, None, Action.SEARCH, what))
    return found, (cursor if more else None)
