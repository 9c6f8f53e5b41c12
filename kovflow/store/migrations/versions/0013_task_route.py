"""tasks carry their instance's route; open tasks by (route, due moment, id)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OPEN = sa.text('closed_at IS NULL')


def upgrade() -> None:
    # The audit filtered by route walked every overdue task of the installation and joined it to
    # its instance to find that route's (1,000,000 cases, a route without overdue tasks: 260 ms
    # on SQLite, 520 ms on PostgreSQL). An instance never changes route, so the copy stays true.
    # A plain ADD COLUMN (no table copy on SQLite); the server default fills existing rows and
    # stays, as kovflow always writes the column itself.
    op.add_column('tasks', sa.Column('route_id', sa.String(length=60), nullable=False,
                                     server_default=''))
    op.execute("UPDATE tasks SET route_id = (SELECT route_instances.route_id FROM route_instances"
               " WHERE route_instances.id = tasks.instance_id)")
    op.create_index('ix_tasks_open_route_due', 'tasks', ['route_id', 'due_at', 'id'],
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_tasks_open_route_due', table_name='tasks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('route_id')
