"""retention

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=False),
    sa.Column('chain_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('term', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('term_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('term_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('access_seq', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('retention_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_records_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_retention_records_chain'), ['chain'], unique=False)
    # Removal finds a case's rows by case id (see retention_tables.py).
    op.create_index('ix_tasks_case_id', 'tasks', ['case_id'], unique=False)
    op.create_index('ix_deadlines_case_id', 'deadlines', ['case_id'], unique=False)
    op.create_index('ix_outbox_case_id', 'outbox', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_case_id', table_name='outbox')
    op.drop_index('ix_deadlines_case_id', table_name='deadlines')
    op.drop_index('ix_tasks_case_id', table_name='tasks')
    with op.batch_alter_table('retention_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_records_chain'))
        batch_op.drop_index(batch_op.f('ix_retention_records_case_id'))
    op.drop_table('retention_records')
