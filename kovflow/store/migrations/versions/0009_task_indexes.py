"""indexes for Mijn taken: open tasks by assignee and by case

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tasks_open_assignee', ['assignee_user_id'], unique=False,
            sqlite_where=sa.text('closed_at IS NULL AND assignee_user_id IS NOT NULL'),
            postgresql_where=sa.text('closed_at IS NULL AND assignee_user_id IS NOT NULL'))
        batch_op.create_index(
            'ix_tasks_open_case', ['case_id'], unique=False,
            sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_case')
        batch_op.drop_index('ix_tasks_open_assignee')
