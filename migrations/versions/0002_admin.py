"""admin: shop disconnect + key ids, connection account ref, manual handling, auth grants, billing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('disconnected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('disconnect_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('superseded_key_ids', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(sa.Column('account_ref', sa.String(length=64), nullable=True))
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(sa.Column('manual_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('manual_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'auth_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('store_url', sa.String(length=500), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('nonce'),
    )
    op.create_table(
        'billing_usage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('marketplace', sa.String(length=40), nullable=False),
        sa.Column('account_ref', sa.String(length=64), nullable=False),
        sa.Column('account_name', sa.String(length=200), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('shop_id', 'marketplace', 'account_ref', 'month', name='uq_billing_usage'),
    )
    op.create_index('ix_billing_usage_shop_id', 'billing_usage', ['shop_id'])


def downgrade() -> None:
    op.drop_index('ix_billing_usage_shop_id', table_name='billing_usage')
    op.drop_table('billing_usage')
    op.drop_table('auth_grants')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('manual_at')
        batch_op.drop_column('manual_reason')
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('account_ref')
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_column('superseded_key_ids')
        batch_op.drop_column('key_id')
        batch_op.drop_column('disconnect_reason')
        batch_op.drop_column('disconnected_at')
