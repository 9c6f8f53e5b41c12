"""The Alembic migrations build exactly the schema the table classes describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import kovflow.store.tables  # noqa: F401  (registers the tables)
from kovflow.services import App


def test_migrated_schema_matches_the_table_definitions(app: App) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(app: App) -> None:
    from kovflow.store.migrate import upgrade

    upgrade(app.engine)
    with app.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0013"


def test_0013_copies_each_tasks_route_from_its_instance(db_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text

    from kovflow.store.migrate import upgrade

    engine = create_engine(db_url)
    try:
        upgrade(engine, "0012")
        at = datetime(2026, 11, 23, 8, tzinfo=UTC)
        with engine.begin() as conn:
            for iid, route in ((1, "plaatsing"), (2, "wijkcoach")):
                conn.execute(text(
                    "INSERT INTO route_instances (id, route_id, route_version, state, revision,"
                    " data, started_at, updated_at) VALUES (:id, :route, 1, 'a', 0, '{}', :at,"
                    " :at)"), {"id": iid, "route": route, "at": at})
            for tid, iid in ((1, 1), (2, 2), (3, 2)):
                conn.execute(text(
                    "INSERT INTO tasks (id, instance_id, state, role, title, opened_at, due_at)"
                    " VALUES (:id, :iid, 'a', 'coach', 't', :at, :at)"),
                    {"id": tid, "iid": iid, "at": at})
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, route_id FROM tasks ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "plaatsing"), (2, "wijkcoach"), (3, "wijkcoach")]
    finally:
        engine.dispose()
