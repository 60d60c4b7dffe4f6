"""Scans: the device clock and uptime as 64-bit integers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # up_ms passes 2**31 after 24.8 days of uptime; on PostgreSQL's 32-bit
    # INTEGER it was stored as null.
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.alter_column('device_ts', existing_type=sa.Integer(), type_=sa.BigInteger())
        batch_op.alter_column('up_ms', existing_type=sa.Integer(), type_=sa.BigInteger())


def downgrade():
    # values past 32 bits cannot be kept in the old columns
    op.execute("UPDATE scans SET up_ms = NULL WHERE up_ms > 2147483647 OR up_ms < -2147483647")
    op.execute("UPDATE scans SET device_ts = NULL WHERE device_ts > 2147483647 OR device_ts < -2147483647")
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.alter_column('up_ms', existing_type=sa.BigInteger(), type_=sa.Integer())
        batch_op.alter_column('device_ts', existing_type=sa.BigInteger(), type_=sa.Integer())
