"""audit indexes: open tasks by (due moment, id); open instances by route and state

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OPEN = sa.text('closed_at IS NULL')


def upgrade() -> None:
    # The audit's overdue-task rule orders by (due_at, id): with the id in the index PostgreSQL
    # reads the first 50 in order instead of sorting every task due at the same moment.
    op.drop_index('ix_tasks_open_due', table_name='tasks')
    op.create_index('ix_tasks_open_due', 'tasks', ['due_at', 'id'], sqlite_where=OPEN,
                    postgresql_where=OPEN)
    op.create_index('ix_route_instances_open_route_state', 'route_instances',
                    ['route_id', 'state'], sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_route_instances_open_route_state', table_name='route_instances')
    op.drop_index('ix_tasks_open_due', table_name='tasks')
    op.create_index('ix_tasks_open_due', 'tasks', ['due_at'], sqlite_where=OPEN,
                    postgresql_where=OPEN)
