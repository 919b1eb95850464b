"""state checks: the database refuses a state no machine knows (CHECK ... IN (...) on every state
column, named ck_<table>_<column>)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The values as they are at this revision, frozen: a migration never imports the app, whose
# enums go on changing (a new state is a new migration). tests/e2e/test_state_checks.py keeps them
# equal to plugin.store.models.STATE_CHECKS (plugin/domain/lifecycles.py) until one does.
# A NULL passes a CHECK (unknown, not false): the nullable columns (orders.error_from,
# cancellations.shop_action, returns.shop_action, returns.handle_state) stay nullable.
CHECKS = {
    'shops': {'status': ('active', 'disconnected')},
    'orders': {
        'status': ('cancelled', 'error', 'manual', 'not_shipped', 'pending_cancellation', 'shipped', 'waiting'),
        'error_from': ('cancelled', 'error', 'manual', 'not_shipped', 'pending_cancellation', 'shipped', 'waiting'),
    },
    'bindings': {'state': ('cancelled', 'created', 'creating', 'error', 'manual', 'new')},
    'shipments': {'state': ('failed', 'manual', 'pending', 'sending', 'submitted', 'success', 'test')},
    'timeline': {'kind': ('call', 'note', 'state'), 'outcome': ('error', 'ok', 'retry')},
    'auth_grants': {
        'state': ('approved', 'approving', 'failed', 'pending', 'used'),
        'purpose': ('install', 'signin'),
    },
    'offer_links': {'stock_status': ('error', 'in_sync', 'pending', 'sending', 'sent', 'skipped')},
    'stock_updates': {'state': ('error', 'pending', 'sending', 'sent', 'skipped', 'superseded')},
    'cancellations': {
        'state': ('failed', 'manual', 'pending', 'refused', 'sending', 'shop_pending', 'shop_sending', 'submitted',
                  'success', 'test'),
        'direction': ('marketplace', 'shop'),
        'shop_action': ('cancel_order', 'remove_lines'),
    },
    'returns': {
        'state': ('handled', 'registered'),
        'shop_state': ('done', 'error', 'pending', 'sending', 'skipped'),
        'shop_action': ('note', 'refund'),
        'handle_state': ('failed', 'pending', 'sending', 'submitted', 'success', 'test'),
    },
}


def name(table: str, column: str) -> str:
    return f'ck_{table}_{column}'


def condition(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    _foreign_keys_off()
    for table, columns in CHECKS.items():
        _refuse_unknown(table, columns)
        # SQLite: the table is copied with its CHECKs and the old one dropped (foreign keys are
        # off, so the drop deletes nothing elsewhere); PostgreSQL: ALTER TABLE ADD CONSTRAINT
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(name(table, column), condition(column, values))
    _foreign_keys_intact()


def downgrade() -> None:
    _foreign_keys_off()
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(name(table, column), type_='check')
    _foreign_keys_intact()


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite' and not op.get_context().as_sql


def _foreign_keys_off() -> None:
    """Recreating shops, orders or offer_links with foreign keys on would empty every table that
    references them (the drop of the old table cascades, as commit dad455c found): refuse.
    migrations/env.py turns them off before the transaction begins; only a connection handed in
    mid-transaction keeps them on."""
    if _sqlite() and op.get_bind().exec_driver_sql('PRAGMA foreign_keys').scalar():
        raise RuntimeError('migration 0006 recreates tables on SQLite and needs foreign keys off: '
                           'run it on a connection outside a transaction (orderbridge db upgrade)')


def _foreign_keys_intact() -> None:
    """SQLite's recipe: before the commit, every reference still points at a row."""
    if _sqlite():
        broken = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'foreign keys broken by the table copies: {broken[:10]}')


def _refuse_unknown(table: str, columns: dict) -> None:
    """A row holding a value no machine knows: say which, rather than a bare constraint error
    (nothing is changed; fix or remove those rows, then upgrade again)."""
    if op.get_context().as_sql:
        return
    bind = op.get_bind()
    for column, values in columns.items():
        found = bind.execute(sa.text(f'SELECT DISTINCT {column} FROM {table} WHERE NOT ({condition(column, values)})')
                             ).scalars().all()
        if found:
            raise RuntimeError(f'{table}.{column} holds {sorted(found)}: not one of {list(values)}')
