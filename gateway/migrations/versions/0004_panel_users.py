"""panel users

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('panel_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_audit'))
    )
    with op.batch_alter_table('panel_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_audit_at'), ['at'], unique=False)

    op.create_table('panel_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_sessions'))
    )
    with op.batch_alter_table('panel_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_sessions_user'), ['user'], unique=False)

    op.create_table('panel_users',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('pw_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.Float(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_panel_users'))
    )


def downgrade():
    op.drop_table('panel_users')
    with op.batch_alter_table('panel_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_sessions_user'))

    op.drop_table('panel_sessions')
    with op.batch_alter_table('panel_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_audit_at'))

    op.drop_table('panel_audit')
