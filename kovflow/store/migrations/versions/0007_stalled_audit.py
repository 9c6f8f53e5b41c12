"""stalled-case audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Indexes of the stalled-case audit (kovflow/store/stalled_repo.py): open instances by their
    # last event, undecided consents by the moment they were asked.
    op.create_index('ix_route_instances_open_updated', 'route_instances', ['updated_at'],
                    unique=False, sqlite_where=sa.text('closed_at IS NULL'),
                    postgresql_where=sa.text('closed_at IS NULL'))
    op.create_index('ix_consents_asked_open', 'consents', ['asked_at'], unique=False,
                    sqlite_where=sa.text("status = 'gevraagd'"),
                    postgresql_where=sa.text("status = 'gevraagd'"))


def downgrade() -> None:
    op.drop_index('ix_consents_asked_open', table_name='consents')
    op.drop_index('ix_route_instances_open_updated', table_name='route_instances')
