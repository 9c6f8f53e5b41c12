"""Moving running instances from one route version to another, explicitly.

A case stays on the version it started with. ``migrate_route`` moves the instances whose current
state exists in the new version (one audited event each) and reports the ones it cannot move.
"""

from __future__ import annotations

from dataclasses import dataclass

from kovflow.actor import Actor
from kovflow.errors import InvalidInput
from kovflow.services.context import App
from kovflow.services.steps import _Step
from kovflow.store import repo
from kovflow.store.db import Connection, write


@dataclass(frozen=True)
class MigrationReport:
    route: str
    from_version: int
    to_version: int
    moved: tuple[int, ...]
    left: tuple[tuple[int, str], ...]  # (instance id, state missing in the new version)
    dry_run: bool


def migrate_route(app: App, actor: Actor, route_id: str, from_version: int, to_version: int,
                  dry_run: bool = False) -> MigrationReport:
    """Move instances of ``route_id`` from ``from_version`` to ``to_version`` where possible."""
    if not (actor.operator or "admin" in actor.roles):
        raise InvalidInput("only an admin or the operator may migrate route versions")
    app.catalog.get(route_id, from_version)
    target = app.catalog.get(route_id, to_version)
    if from_version == to_version:
        raise InvalidInput("from and to are the same version")
    now = app.clock.now()

    def work(conn: Connection) -> MigrationReport:
        moved, left = [], []
        for row in repo.instances_of_route(conn, route_id, from_version):
            if row.state not in target.states:
                left.append((int(row.id), str(row.state)))
                continue
            moved.append(int(row.id))
            if dry_run:
                continue
            repo.compare_and_set(conn, row.id, row.revision,
                                 {"route_version": to_version, "updated_at": now})
            step = _Step(conn, app, actor, now, row.case_id, row.location_id)
            step.event(row.id, "migrated", target, "", row.state, row.state,
                       {"from_version": from_version, "to_version": to_version})
            step.flush()
        return MigrationReport(route_id, from_version, to_version, tuple(moved), tuple(left),
                               dry_run)

    return write(app.engine, work)
