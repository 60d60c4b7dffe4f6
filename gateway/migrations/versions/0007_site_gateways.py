"""site of several gateways: who runs each printer and job, and the gateways that share the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gateways',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=256), nullable=True),
    sa.Column('api', sa.String(length=256), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=True),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateways'))
    )
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateways_last_seen'), ['last_seen'], unique=False)

    # Printers and jobs from before keep NULL: run by whichever gateway starts them, as before.
    with op.batch_alter_table('printers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=64), nullable=True))
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_column('gateway')
    with op.batch_alter_table('printers', schema=None) as batch_op:
        batch_op.drop_column('gateway')
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateways_last_seen'))
    op.drop_table('gateways')
