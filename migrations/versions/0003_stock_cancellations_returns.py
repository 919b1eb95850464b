"""stock, cancellations and returns: offer links, the stock outbox, cancellations both ways,
returns; order lines' own state; shipments' lines; connections' stock/returns schedule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table('connections') as batch_op:
        for name in ('stock_reconcile_at', 'returns_poll_at', 'stock_lease_until', 'stock_paused_until'):
            batch_op.add_column(_at(name))
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(_at('cancellation_checked_at'))
    with op.batch_alter_table('order_lines') as batch_op:
        batch_op.add_column(sa.Column('shipped_quantity', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cancelled_quantity', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cancellation_requested', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('shipments') as batch_op:
        batch_op.add_column(sa.Column('line_ids', sa.JSON(), nullable=True))

    op.create_table(
        'offer_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('shop_product_id', sa.BigInteger(), nullable=False),
        sa.Column('parent_id', sa.BigInteger(), nullable=True),
        sa.Column('sku', sa.String(length=100), nullable=False),
        sa.Column('ean', sa.String(length=40), nullable=False),
        sa.Column('match_key', sa.String(length=100), nullable=False),
        sa.Column('offer_id', sa.String(length=100), nullable=True),
        sa.Column('listed', sa.Boolean(), nullable=False),
        sa.Column('skip_reason', sa.String(length=200), nullable=True),
        _at('checked_at'),
        sa.Column('shop_stock', sa.Integer(), nullable=True),
        sa.Column('marketplace_stock', sa.Integer(), nullable=True),
        sa.Column('stock_status', sa.String(length=20), nullable=False),
        sa.Column('last_amount', sa.Integer(), nullable=True),
        _at('last_sent_at'),
        sa.Column('last_error', sa.Text(), nullable=True),
        _at('hold_until'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'shop_product_id', name='uq_offer_link_product'),
        sa.UniqueConstraint('connection_id', 'offer_id', name='uq_offer_link_offer'),
    )
    op.create_table(
        'stock_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('offer_id', sa.String(length=100), nullable=True),
        sa.Column('amount', sa.Integer(), nullable=True),
        sa.Column('trigger', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('process_id', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        _at('next_attempt_at'),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _at('sent_at'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['link_id'], ['offer_links.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stock_updates_link_id', 'stock_updates', ['link_id'])
    op.create_index('ix_stock_updates_open', 'stock_updates', ['connection_id', 'state', 'id'])
    # Coalescing is in the store: at most one pending update per offer link.
    op.create_index('uq_stock_update_pending', 'stock_updates', ['link_id'], unique=True,
                    sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        'cancellations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=20), nullable=False),
        sa.Column('line_ids', sa.JSON(), nullable=False),
        sa.Column('line_key', sa.String(length=500), nullable=False),
        sa.Column('reason_code', sa.String(length=60), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('shop_action', sa.String(length=20), nullable=True),
        sa.Column('process_id', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        _at('next_attempt_at'),
        _at('lease_until'),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _at('shop_done_at'),
        _at('sent_at'),
        _at('done_at'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id', 'line_key', name='uq_cancellation_order_lines'),
    )
    op.create_index('ix_cancellations_order_id', 'cancellations', ['order_id'])
    op.create_index('ix_cancellations_state', 'cancellations', ['state'])
    op.create_table(
        'returns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('rma_id', sa.String(length=100), nullable=False),
        sa.Column('return_id', sa.String(length=100), nullable=False),
        sa.Column('external_order_id', sa.String(length=100), nullable=False),
        sa.Column('line_id', sa.String(length=100), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        _at('registered_at'),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('handling_result', sa.String(length=60), nullable=True),
        sa.Column('quantity_returned', sa.Integer(), nullable=True),
        _at('handled_at'),
        sa.Column('shop_state', sa.String(length=20), nullable=False),
        sa.Column('shop_action', sa.String(length=20), nullable=True),
        sa.Column('shop_note_id', sa.BigInteger(), nullable=True),
        sa.Column('shop_refund_id', sa.BigInteger(), nullable=True),
        _at('shop_done_at'),
        sa.Column('handle_state', sa.String(length=20), nullable=True),
        sa.Column('merchant_refund_id', sa.BigInteger(), nullable=True),
        sa.Column('process_id', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        _at('next_attempt_at'),
        _at('lease_until'),
        sa.Column('last_error', sa.Text(), nullable=True),
        _at('sent_at'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'rma_id', name='uq_return_connection_rma'),
    )
    op.create_index('ix_returns_shop_id', 'returns', ['shop_id'])
    op.create_index('ix_returns_order_id', 'returns', ['order_id'])
    op.create_index('ix_returns_state', 'returns', ['state'])


def downgrade() -> None:
    op.drop_index('ix_returns_state', table_name='returns')
    op.drop_index('ix_returns_order_id', table_name='returns')
    op.drop_index('ix_returns_shop_id', table_name='returns')
    op.drop_table('returns')
    op.drop_index('ix_cancellations_state', table_name='cancellations')
    op.drop_index('ix_cancellations_order_id', table_name='cancellations')
    op.drop_table('cancellations')
    op.drop_index('uq_stock_update_pending', table_name='stock_updates')
    op.drop_index('ix_stock_updates_open', table_name='stock_updates')
    op.drop_index('ix_stock_updates_link_id', table_name='stock_updates')
    op.drop_table('stock_updates')
    op.drop_table('offer_links')
    with op.batch_alter_table('shipments') as batch_op:
        batch_op.drop_column('line_ids')
    with op.batch_alter_table('order_lines') as batch_op:
        batch_op.drop_column('cancellation_requested')
        batch_op.drop_column('cancelled_quantity')
        batch_op.drop_column('shipped_quantity')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('cancellation_checked_at')
    with op.batch_alter_table('connections') as batch_op:
        for name in ('stock_paused_until', 'stock_lease_until', 'returns_poll_at', 'stock_reconcile_at'):
            batch_op.drop_column(name)
