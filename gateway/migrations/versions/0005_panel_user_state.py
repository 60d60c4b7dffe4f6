"""panel user state: disabled, last sign-in

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # sa.false() renders as 0 on SQLite and false on PostgreSQL (a plain '0' is not a boolean there).
    with op.batch_alter_table('panel_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('last_signin_at', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('panel_users', schema=None) as batch_op:
        batch_op.drop_column('last_signin_at')
        batch_op.drop_column('disabled')
