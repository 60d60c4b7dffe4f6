"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agg_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dev', sa.String(length=64), nullable=False),
    sa.Column('session', sa.String(length=64), nullable=False),
    sa.Column('order', sa.String(length=16), nullable=True),
    sa.Column('parent', sa.String(length=128), nullable=True),
    sa.Column('parent_info', sa.JSON(), nullable=True),
    sa.Column('children', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agg_sessions')),
    sa.UniqueConstraint('dev', 'session', name='uq_agg_session')
    )
    op.create_table('aggregations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('parent', sa.String(length=128), nullable=False),
    sa.Column('child', sa.String(length=128), nullable=False),
    sa.Column('session', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('removed_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregations'))
    )
    with op.batch_alter_table('aggregations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aggregations_child'), ['child'], unique=False)
        batch_op.create_index(batch_op.f('ix_aggregations_parent'), ['parent'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=True),
    sa.Column('dev', sa.String(length=64), nullable=True),
    sa.Column('item', sa.String(length=128), nullable=True),
    sa.Column('di', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_kind'), ['kind'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('revoked_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('hash', name=op.f('uq_api_tokens_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name'))
    )
    op.create_table('blocks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('di', sa.String(length=64), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('serial_from', sa.String(length=64), nullable=True),
    sa.Column('serial_to', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_di'), ['di'], unique=False)

    op.create_table('commands',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('dev', sa.String(length=64), nullable=False),
    sa.Column('cmd', sa.String(length=16), nullable=False),
    sa.Column('args', sa.JSON(), nullable=True),
    sa.Column('sent_at', sa.Float(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('done_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commands'))
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_dev'), ['dev'], unique=False)

    op.create_table('devices',
    sa.Column('dev', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=True),
    sa.Column('fw', sa.String(length=32), nullable=True),
    sa.Column('boot', sa.Integer(), nullable=True),
    sa.Column('last_seen', sa.Float(), nullable=True),
    sa.Column('battery_mv', sa.Integer(), nullable=True),
    sa.Column('queue', sa.Integer(), nullable=True),
    sa.Column('heartbeat', sa.JSON(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('config_rev', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('dev', name=op.f('pk_devices'))
    )
    op.create_table('items',
    sa.Column('item', sa.String(length=128), nullable=False),
    sa.Column('di', sa.String(length=64), nullable=True),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('expiry', sa.String(length=16), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('first_scan', sa.Integer(), nullable=True),
    sa.Column('last_scan', sa.Integer(), nullable=True),
    sa.Column('used_scan', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('item', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_di'), ['di'], unique=False)

    op.create_table('mappings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('nhsa_code', sa.String(length=32), nullable=True),
    sa.Column('commodity_code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('source', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mappings')),
    sa.UniqueConstraint('kind', 'key', name='uq_mapping_key')
    )
    op.create_table('products',
    sa.Column('di', sa.String(length=64), nullable=False),
    sa.Column('primary_di', sa.String(length=64), nullable=False),
    sa.Column('coding_system', sa.String(length=32), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('contains_di', sa.String(length=64), nullable=True),
    sa.Column('contains_qty', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('trade_name', sa.String(length=256), nullable=True),
    sa.Column('spec', sa.String(length=256), nullable=True),
    sa.Column('reg_no', sa.String(length=128), nullable=True),
    sa.Column('registrant', sa.String(length=256), nullable=True),
    sa.Column('nhsa_code', sa.String(length=32), nullable=True),
    sa.Column('pi_lot', sa.Boolean(), nullable=True),
    sa.Column('pi_serial', sa.Boolean(), nullable=True),
    sa.Column('pi_mfg', sa.Boolean(), nullable=True),
    sa.Column('pi_expiry', sa.Boolean(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=128), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('di', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_primary_di'), ['primary_di'], unique=False)

    op.create_table('rejects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=256), nullable=True),
    sa.Column('dev', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejects'))
    )
    op.create_table('scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dev', sa.String(length=64), nullable=False),
    sa.Column('boot', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=True),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('device_ts', sa.Integer(), nullable=True),
    sa.Column('up_ms', sa.Integer(), nullable=True),
    sa.Column('pre_verdict', sa.String(length=8), nullable=True),
    sa.Column('scheme', sa.String(length=24), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('verdict', sa.String(length=12), nullable=True),
    sa.Column('codes', sa.JSON(), nullable=True),
    sa.Column('di', sa.String(length=64), nullable=True),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('expiry', sa.String(length=16), nullable=True),
    sa.Column('item', sa.String(length=128), nullable=True),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('nhsa_code', sa.String(length=32), nullable=True),
    sa.Column('commodity_code', sa.String(length=64), nullable=True),
    sa.Column('agg', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('dev', 'boot', 'seq', name='uq_scan_identity')
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_di'), ['di'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_item'), ['item'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_received_at'), ['received_at'], unique=False)

    op.create_table('movements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('item', sa.String(length=128), nullable=True),
    sa.Column('di', sa.String(length=64), nullable=True),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_movements_scan_id_scans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_movements'))
    )
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_movements_scan_id'), ['scan_id'], unique=False)
        batch_op.create_index('ix_movements_stock', ['location', 'di', 'lot'], unique=False)



def downgrade():
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.drop_index('ix_movements_stock')
        batch_op.drop_index(batch_op.f('ix_movements_scan_id'))

    op.drop_table('movements')
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_received_at'))
        batch_op.drop_index(batch_op.f('ix_scans_item'))
        batch_op.drop_index(batch_op.f('ix_scans_di'))

    op.drop_table('scans')
    op.drop_table('rejects')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_primary_di'))

    op.drop_table('products')
    op.drop_table('mappings')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_di'))

    op.drop_table('items')
    op.drop_table('devices')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commands_dev'))

    op.drop_table('commands')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_di'))

    op.drop_table('blocks')
    op.drop_table('api_tokens')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_kind'))

    op.drop_table('alerts')
    with op.batch_alter_table('aggregations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aggregations_parent'))
        batch_op.drop_index(batch_op.f('ix_aggregations_child'))

    op.drop_table('aggregations')
    op.drop_table('agg_sessions')
