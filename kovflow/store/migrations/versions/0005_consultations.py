"""anonymous consultation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('asked_by_user_id', sa.Integer(), nullable=False),
    sa.Column('to_role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('wijk', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('advice', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.ForeignKeyConstraint(['asked_by_user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_location_id'), ['location_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_location_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_case_id'))

    op.drop_table('consultations')
