"""label checks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('label_checks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('serial_id', sa.Integer(), nullable=True),
    sa.Column('decoded', sa.Text(), nullable=True),
    sa.Column('match', sa.Boolean(), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('grade', sa.Float(), nullable=True),
    sa.Column('notation', sa.String(length=16), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=True),
    sa.Column('image', sa.String(length=512), nullable=True),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_checks'))
    )
    with op.batch_alter_table('label_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_checks_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_checks_serial_id'), ['serial_id'], unique=False)

    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rejected', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_column('rejected')
        batch_op.drop_column('verify')

    with op.batch_alter_table('label_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_checks_serial_id'))
        batch_op.drop_index(batch_op.f('ix_label_checks_job_id'))

    op.drop_table('label_checks')
