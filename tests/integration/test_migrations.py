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
        assert MigrationContext.configure(conn).get_current_revision() == "0012"
