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
    # Per traject the monitor probes the case's participants by role and its transitions into a
    # state by route (kovflow/store/monitor_repo.py).
    op.create_index("ix_participants_case_role", "participants", ["case_id", "role"])
    op.create_index("ix_events_case_route_state", "events", ["case_id", "route_id", "to_state"])


def downgrade() -> None:
    op.drop_index("ix_events_case_route_state", table_name="events")
    op.drop_index("ix_participants_case_role", table_name="participants")
