"""shop capabilities: what the shop's software has (version, GTIN field), as the shop said it

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.add_column(sa.Column('capabilities', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies `shops` and drops the old table, and the drop
    # cascades to every connection, order and shipment. A plain DROP COLUMN keeps them
    # (SQLite 3.35+, PostgreSQL).
    op.execute('ALTER TABLE shops DROP COLUMN capabilities')
