"""Migration 0006 (CHECK constraints on every state column) on the backend under test (SQLite, or
PostgreSQL with ORDERBRIDGE_TEST_BACKEND=postgres): it keeps every row of every table going up,
down and up again (on SQLite it copies tables others reference, which with foreign keys on would
have emptied their children), and at head the database refuses a state no machine knows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from plugin.store.db import make_engine
from plugin.store.models import STATE_CHECKS, Base
from plugin.store.schema import alembic_config, downgrade, upgrade

pytestmark = pytest.mark.e2e

# A valid value for each state column (the nullable ones too, so the copy carries them).
VALID = {(table, column): values[0] for table, column, values in STATE_CHECKS.values()}
VALID.update({("shops", "status"): "active", ("orders", "status"): "not_shipped", ("bindings", "state"): "new",
              ("shipments", "state"): "pending", ("timeline", "kind"): "state", ("timeline", "outcome"): "ok",
              ("auth_grants", "state"): "pending", ("auth_grants", "purpose"): "install",
              ("cancellations", "state"): "shop_pending", ("cancellations", "direction"): "marketplace",
              ("returns", "state"): "registered", ("returns", "shop_state"): "pending",
              ("stock_updates", "state"): "pending", ("offer_links", "stock_status"): "pending"})
_serial = itertools.count(1)


def _fill(connection, table: str, **values) -> int:
    """A row with every column given a value of its type (reflected at this revision), each state
    column a valid one, every other string unique (and short: PostgreSQL minds the lengths)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    n = next(_serial)
    for column in reflected.columns:
        if column.name in values or column.primary_key:
            continue
        if (table, column.name) in VALID:
            values[column.name] = VALID[(table, column.name)]
            continue
        if column.foreign_keys:
            continue
        kind = column.type
        values[column.name] = (datetime.now(UTC) if isinstance(kind, sa.DateTime)
                               else n if isinstance(kind, sa.Integer) else False if isinstance(kind, sa.Boolean)
                               else {"n": n} if isinstance(kind, sa.JSON) else f"x{n}")
    return connection.execute(sa.insert(reflected).values(**values).returning(reflected.c.id)).scalar_one()


def _every_kind_of_row(url: str) -> None:
    """A shop and everything that hangs off it, one row of every table at least."""
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            shop = _fill(c, "shops")
            connection = _fill(c, "connections", shop_id=shop)
            order = _fill(c, "orders", shop_id=shop, connection_id=connection)
            other = _fill(c, "orders", shop_id=shop, connection_id=connection, status="error",
                          error_from="waiting")
            _fill(c, "order_lines", order_id=order)
            _fill(c, "order_lines", order_id=other)
            _fill(c, "bindings", connection_id=connection, shop_id=shop, order_id=order, state="created")
            _fill(c, "bindings", connection_id=connection, shop_id=shop, order_id=other, state="error")
            _fill(c, "shipments", order_id=order, state="success")
            _fill(c, "shipments", order_id=other, key="3SLINE", state="failed")
            _fill(c, "timeline", order_id=order)
            _fill(c, "timeline", order_id=other, kind="call", outcome="error")
            _fill(c, "webhook_deliveries", shop_id=shop)
            _fill(c, "poll_cursors")
            _fill(c, "auth_grants", shop_id=shop, state="used", purpose="signin")
            _fill(c, "billing_usage", shop_id=shop)
            link = _fill(c, "offer_links", connection_id=connection, stock_status="in_sync")
            _fill(c, "stock_updates", connection_id=connection, link_id=link)
            _fill(c, "stock_updates", connection_id=connection, link_id=link, state="sent")
            _fill(c, "cancellations", order_id=order, shop_action="cancel_order")
            _fill(c, "cancellations", order_id=other, direction="shop", state="failed", shop_action=None)
            _fill(c, "returns", connection_id=connection, shop_id=shop, order_id=order, shop_action="refund",
                  handle_state="submitted")
            _fill(c, "returns", connection_id=connection, shop_id=shop, order_id=None, shop_state="skipped",
                  handle_state=None, shop_action=None)
    finally:
        engine.dispose()


def _snapshot(url: str) -> dict[str, list[dict]]:
    """Every row of every table, by column name (a table copy may reorder nothing else)."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            tables = [t for t in sa.inspect(c).get_table_names() if t != "alembic_version"]
            return {t: [dict(row._mapping) for row in c.execute(sa.text(f'SELECT * FROM "{t}" ORDER BY id'))]
                    for t in sorted(tables)}
    finally:
        engine.dispose()


def _checks(url: str) -> dict[str, set[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            inspector = sa.inspect(c)
            return {t: {ck["name"] for ck in inspector.get_check_constraints(t) if ck["name"]}
                    for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def _model_checks() -> dict[str, set[str]]:
    return {table.name: {name for name, (t, _, _) in STATE_CHECKS.items() if t == table.name}
            for table in Base.metadata.sorted_tables}


@pytest.fixture
def at_0005(database_url):
    upgrade(database_url)
    downgrade(database_url, "base")          # empty, whatever earlier tests left
    upgrade(database_url, "0005")
    yield database_url
    downgrade(database_url, "base")          # leave it empty, at head
    upgrade(database_url)


def test_0006_keeps_every_row_going_up_down_and_up_again(at_0005):
    url = at_0005
    _every_kind_of_row(url)
    before = _snapshot(url)
    assert all(before[t] for t in ("shops", "connections", "orders", "order_lines", "bindings", "shipments",
                                   "timeline", "offer_links", "stock_updates", "cancellations", "returns"))
    assert not any(_checks(url).values())
    upgrade(url, "0006")
    assert _snapshot(url) == before
    assert {t: names for t, names in _checks(url).items() if names} == {t: n for t, n in _model_checks().items() if n}
    downgrade(url, "0005")
    assert _snapshot(url) == before
    assert not any(_checks(url).values())
    upgrade(url)
    assert _snapshot(url) == before


def test_0006_says_which_rows_hold_a_state_no_machine_knows_and_changes_nothing(at_0005):
    url = at_0005
    _every_kind_of_row(url)
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("UPDATE shipments SET state = 'shipped' WHERE state = 'success'"))
    finally:
        engine.dispose()
    before = _snapshot(url)
    with pytest.raises(RuntimeError, match=r"shipments\.state holds \['shipped'\]"):
        upgrade(url, "0006")
    assert _snapshot(url) == before and not any(_checks(url).values())


def test_0006_refuses_to_copy_tables_with_foreign_keys_on(at_0005):
    """SQLite: on a connection handed in mid-transaction the pragma cannot be turned off, and the
    copy of `shops` would then empty every table under it: the migration refuses instead."""
    url = at_0005
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL adds its constraints in place")
    _every_kind_of_row(url)
    before = _snapshot(url)
    engine = make_engine(url)
    try:
        with pytest.raises(RuntimeError, match="needs foreign keys off"), engine.begin() as c:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = c
            command.upgrade(cfg, "0006")
    finally:
        engine.dispose()
    assert _snapshot(url) == before and not any(_checks(url).values())


@pytest.fixture
def at_head_with_rows(database_url):
    upgrade(database_url)
    downgrade(database_url, "base")
    upgrade(database_url)
    _every_kind_of_row(database_url)
    yield database_url
    downgrade(database_url, "base")
    upgrade(database_url)


def test_at_head_an_unknown_state_is_refused_and_every_known_one_taken(at_head_with_rows):
    url = at_head_with_rows
    engine = make_engine(url)
    try:
        for name, (table, column, values) in sorted(STATE_CHECKS.items()):
            with engine.connect() as c:
                row = c.execute(sa.text(f'SELECT id FROM "{table}" ORDER BY id LIMIT 1')).scalar_one()
            for value in values:      # every value a machine knows is taken (then rolled back)
                with engine.connect() as c, c.begin() as t:
                    c.execute(sa.text(f'UPDATE "{table}" SET {column} = :v WHERE id = :id'), {"v": value, "id": row})
                    t.rollback()
            with pytest.raises(sa.exc.IntegrityError, match=name), engine.begin() as c:
                c.execute(sa.text(f'UPDATE "{table}" SET {column} = :v WHERE id = :id'), {"v": "bogus", "id": row})
            with pytest.raises(sa.exc.IntegrityError, match=name), engine.begin() as c:
                parents = {"order_id", "shop_id", "connection_id", "link_id"}
                keep = c.execute(sa.text(f'SELECT * FROM "{table}" WHERE id = :id'), {"id": row}).mappings().one()
                _fill(c, table, **{k: v for k, v in keep.items() if k in parents}, **{column: "bogus"})
    finally:
        engine.dispose()


def test_the_same_copy_with_foreign_keys_on_would_have_emptied_every_table_under_shops(at_0005):
    """The control: what env.py's pragma and 0006's refusal prevent (commit dad455c's loss)."""
    url = at_0005
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL alters tables in place")
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    _every_kind_of_row(url)
    engine = make_engine(url)          # foreign keys on, as on every connection of the app
    try:
        with engine.begin() as c:
            with Operations(MigrationContext.configure(c)).batch_alter_table("shops") as batch:
                batch.create_check_constraint("ck_shops_status", "status IN ('active', 'disconnected')")
    finally:
        engine.dispose()
    after = _snapshot(url)
    assert len(after["shops"]) == 1
    assert after["connections"] == after["orders"] == after["shipments"] == after["returns"] == []
