"""partial shipments: several shipments per order, unique per (order, key); a shipment's own
quantities and T&T

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# 0001 declared UNIQUE(order_id) without a name: PostgreSQL named it shipments_order_id_key,
# SQLite not at all, so batch mode gets a naming convention to find it by.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _order_unique_name() -> str:
    bind = op.get_bind()
    for uc in sa.inspect(bind).get_unique_constraints('shipments'):
        if uc['column_names'] == ['order_id'] and uc.get('name'):
            return uc['name']
    return 'uq_shipments_order_id'


def upgrade() -> None:
    name = _order_unique_name()
    with op.batch_alter_table('shipments', naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(name, type_='unique')
        # existing rows are each their order's only shipment: the "rest" of the order
        batch_op.add_column(sa.Column('key', sa.String(length=200), nullable=False, server_default='rest'))
        batch_op.add_column(sa.Column('quantities', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tracking_number', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('tracking_provider', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_shipment_order_key', ['order_id', 'key'])


def downgrade() -> None:
    # the older schema holds one shipment per order: the line-bound ones cannot stay
    op.execute("DELETE FROM shipments WHERE key <> 'rest'")
    with op.batch_alter_table('shipments') as batch_op:
        batch_op.drop_constraint('uq_shipment_order_key', type_='unique')
        batch_op.drop_column('tracking_provider')
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('quantities')
        batch_op.drop_column('key')
        batch_op.create_unique_constraint('shipments_order_id_key', ['order_id'])
