"""label printing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('print_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('serial_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_audit'))
    )
    with op.batch_alter_table('print_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_audit_job_id'), ['job_id'], unique=False)

    op.create_table('print_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('di', sa.String(length=64), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('printer', sa.String(length=64), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('production_date', sa.String(length=10), nullable=True),
    sa.Column('expiry', sa.String(length=10), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('reconciliation', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    op.create_table('printers',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('uri', sa.String(length=256), nullable=False),
    sa.Column('dpi', sa.Integer(), nullable=False),
    sa.Column('ips', sa.Float(), nullable=False),
    sa.Column('info', sa.JSON(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_printers'))
    )
    op.create_table('serial_pools',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('di', sa.String(length=64), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=False),
    sa.Column('scheme', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_pools')),
    sa.UniqueConstraint('di', 'lot', name='uq_serial_pool')
    )
    op.create_table('serials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('di', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('label_no', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['serial_pools.id'], name=op.f('fk_serials_pool_id_serial_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serials')),
    sa.UniqueConstraint('di', 'serial', name='uq_serial_once')
    )
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serials_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_serials_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_serials_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_serials_state'))
        batch_op.drop_index(batch_op.f('ix_serials_pool_id'))
        batch_op.drop_index(batch_op.f('ix_serials_job_id'))

    op.drop_table('serials')
    op.drop_table('serial_pools')
    op.drop_table('printers')
    op.drop_table('print_jobs')
    with op.batch_alter_table('print_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_audit_job_id'))

    op.drop_table('print_audit')
