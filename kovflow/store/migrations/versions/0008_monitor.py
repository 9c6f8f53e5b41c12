"""monitor: indexes of the monitor passende kinderopvang (kovflow/store/monitor_repo.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The discipline union reads transitions into a state by route, and participants by role.
    op.create_index("ix_events_route_to_state", "events", ["route_id", "to_state", "case_id"])
    op.create_index("ix_participants_role_case", "participants", ["role", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_participants_role_case", table_name="participants")
    op.drop_index("ix_events_route_to_state", table_name="events")
