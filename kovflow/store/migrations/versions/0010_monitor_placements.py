"""monitor tables: the monitor's facts per placement and support period, filled from route data

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monitor_placements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('startdatum', sa.Date(), nullable=False),
        sa.Column('uitstroom_datum', sa.Date(), nullable=True),
        sa.Column('placed_until', sa.Date(), nullable=False),
        sa.Column('vve_datum', sa.Date(), nullable=True),
        sa.Column('uitstroom_reden', sa.String(length=60), nullable=False),
        sa.Column('passend', sa.Integer(), nullable=False),
        sa.Column('voortijdig', sa.Integer(), nullable=False),
        sa.Column('wachtdagen', sa.Integer(), nullable=False),
        sa.Column('coach', sa.Integer(), nullable=False),
        sa.Column('logopedist', sa.Integer(), nullable=False),
        sa.Column('jeugdverpleegkundige', sa.Integer(), nullable=False),
        sa.Column('wijkcoach', sa.Integer(), nullable=False),
        sa.Column('ambulant_begeleider', sa.Integer(), nullable=False),
        sa.Column('thuisondersteuning', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['id'], ['route_instances.id']),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_monitor_placements_case_id', 'monitor_placements', ['case_id'])
    # Covering: each monitor query reads one range of one index (kovflow/store/monitor_tables).
    op.create_index('ix_monitor_placements_period', 'monitor_placements', [
        'placed_until', 'startdatum', 'location_id', 'vve_datum', 'passend', 'voortijdig',
        'uitstroom_reden', 'coach', 'logopedist', 'jeugdverpleegkundige', 'wijkcoach',
        'ambulant_begeleider', 'thuisondersteuning'])
    op.create_index('ix_monitor_placements_start', 'monitor_placements',
                    ['startdatum', 'wachtdagen', 'location_id'])
    op.create_table(
        'monitor_support',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('route_id', sa.String(length=40), nullable=False),
        sa.Column('begin', sa.Date(), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('uren', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['id'], ['route_instances.id']),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_monitor_support_case_id', 'monitor_support', ['case_id'])
    op.create_index('ix_monitor_support_period', 'monitor_support', [
        'route_id', 'until', 'begin', 'location_id', 'closed_on', 'uren', 'case_id'])
    # The tables are derived: fill it from the route data already recorded. This runs the code of
    # today's monitor_repo; a later change to how rows are computed rebuilds in its own migration.
    from kovflow.store import monitor_repo
    monitor_repo.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_monitor_support_period', table_name='monitor_support')
    op.drop_index('ix_monitor_support_case_id', table_name='monitor_support')
    op.drop_table('monitor_support')
    op.drop_index('ix_monitor_placements_start', table_name='monitor_placements')
    op.drop_index('ix_monitor_placements_period', table_name='monitor_placements')
    op.drop_index('ix_monitor_placements_case_id', table_name='monitor_placements')
    op.drop_table('monitor_placements')
