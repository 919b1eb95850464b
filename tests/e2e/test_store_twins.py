"""The store's in-memory twin answers as the SQL store does (on the backend under test: SQLite,
or PostgreSQL with ORDERBRIDGE_TEST_BACKEND=postgres): one script of named operations runs on
both, and every answer and the rows left behind are the same. The use-case unit tests run on the
twin; this is what lets them stand for the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.demo.stack import reset_database
from plugin.store import models
from plugin.store.db import Database
from plugin.store.memory import MemoryStore
from plugin.store.unit_of_work import SqlUnitOfWork

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

SHOPS = [dict(id=1, status="active", disconnected_at=None), dict(id=2, status="disconnected", disconnected_at=NOW - 91 * DAY),
         dict(id=3, status="disconnected", disconnected_at=NOW - 10 * DAY)]
CONNECTIONS = [dict(id=11, shop_id=1), dict(id=12, shop_id=2), dict(id=13, shop_id=1)]
CURSORS = ["shop:2:orders", "connection:12:returns", "shop:1:orders"]
STOCK = [("sent", 8), ("superseded", 1), ("pending", 30), ("skipped", 9)]    # (state, days ago)
GRANTS = [2, 0]                                                              # expired days ago


def _seed_sql(db: Database) -> None:
    with db.session() as s:
        for shop in SHOPS:
            s.add(models.Shop(public_id=f"p{shop['id']}", name="s", url=f"https://s{shop['id']}.example",
                              credentials="", webhook_secret="", **shop))
        s.flush()
        for conn in CONNECTIONS:
            s.add(models.Connection(marketplace="bol", name="c", credentials="", **conn))
        s.flush()
        for stream in CURSORS:
            s.add(models.PollCursor(stream=stream))
        link = models.OfferLink(connection_id=11, shop_product_id=1)
        s.add(link)
        s.flush()
        for state, ago in STOCK:
            s.add(models.StockUpdate(connection_id=11, link_id=link.id, state=state, updated_at=NOW - ago * DAY))
        for n, ago in enumerate(GRANTS):
            s.add(models.AuthGrant(nonce=f"n{n}", purpose="install", store_url="x", expires_at=NOW - ago * DAY))


def _seed_memory(store: MemoryStore) -> None:
    for shop in SHOPS:
        store.add("shops", public_id=f"p{shop['id']}", name="s", url="", credentials="", webhook_secret="", **shop)
    for conn in CONNECTIONS:
        store.add("connections", marketplace="bol", name="c", credentials="", **conn)
    for stream in CURSORS:
        store.add("poll_cursors", stream=stream)
    link = store.add("offer_links", connection_id=11, shop_product_id=1)
    for state, ago in STOCK:
        store.add("stock_updates", connection_id=11, link_id=link.id, state=state, updated_at=NOW - ago * DAY)
    for n, ago in enumerate(GRANTS):
        store.add("auth_grants", nonce=f"n{n}", purpose="install", store_url="x", expires_at=NOW - ago * DAY)


def _script(unit_of_work) -> list:
    said = []
    with unit_of_work() as uow:
        said.append(("disconnect", uow.shops.disconnect(1, NOW, "first"), uow.shops.disconnect(1, NOW + DAY, "x")))
        said.append(("disconnect unknown", uow.shops.disconnect(99, NOW, "x")))
    with unit_of_work() as uow:
        shop = uow.shops.get(1)
        said.append(("shop 1", shop.status, shop.disconnected_at, shop.disconnect_reason, uow.shops.get(99)))
        said.append(("of shop 1", [c.id for c in uow.connections.of_shop(1)]))
        said.append(("expired", uow.shops.disconnected_before(NOW - 90 * DAY), uow.shops.disconnected_before(NOW + DAY)))
    with unit_of_work() as uow:
        said.append(("purge", uow.shops.purge(2, NOW - 90 * DAY), uow.shops.purge(3, NOW - 90 * DAY),
                     uow.shops.purge(1, NOW - 90 * DAY)))
    with unit_of_work() as uow:
        said.append(("cursor", uow.cursors.read_from("shop:1:orders"), uow.cursors.read_from("new:stream")))
        uow.cursors.succeeded("shop:1:orders", NOW - DAY, NOW)
        uow.cursors.failed("new:stream", "boom " * 1000)
    with unit_of_work() as uow:
        said.append(("cursor after", uow.cursors.read_from("shop:1:orders")))
        said.append(("period", uow.cursors.claim_period("chore", NOW, timedelta(hours=1)),
                     uow.cursors.claim_period("chore", NOW + timedelta(minutes=59), timedelta(hours=1)),
                     uow.cursors.claim_period("chore", NOW + timedelta(hours=1), timedelta(hours=1))))
    with unit_of_work() as uow:
        said.append(("history", uow.history.forget_stock_updates_before(NOW - 7 * DAY),
                     uow.history.forget_grants_expired_before(NOW - DAY)))
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        uow.shops.disconnect(3, NOW, "never saved")
        uow.cursors.failed("shop:1:orders", "never saved")
        raise RuntimeError("rolled back")
    return said


def _sql_rows(db: Database) -> dict:
    with db.session() as s:
        return {"shops": sorted((x.id, x.status, x.disconnect_reason) for x in s.scalars(select(models.Shop))),
                "connections": sorted(x.id for x in s.scalars(select(models.Connection))),
                "cursors": sorted((x.stream, x.cursor_at, (x.last_error or "")[:20], x.last_success_at)
                                  for x in s.scalars(select(models.PollCursor))),
                "stock": sorted(x.state for x in s.scalars(select(models.StockUpdate))),
                "grants": sorted(x.nonce for x in s.scalars(select(models.AuthGrant)))}


def _memory_rows(store: MemoryStore) -> dict:
    t = store.tables
    return {"shops": sorted((x.id, x.status, x.disconnect_reason) for x in t["shops"].values()),
            "connections": sorted(t["connections"]),
            "cursors": sorted((x.stream, x.cursor_at, (x.last_error or "")[:20], x.last_success_at)
                              for x in t["poll_cursors"].values()),
            "stock": sorted(x.state for x in t["stock_updates"].values()),
            "grants": sorted(x.nonce for x in t["auth_grants"].values())}


def test_the_memory_twin_answers_and_leaves_what_the_sql_store_does(database_url):
    reset_database(database_url)
    db = Database(database_url)
    try:
        _seed_sql(db)
        sql_said = _script(lambda: SqlUnitOfWork(db))
        sql_rows = _sql_rows(db)
    finally:
        db.dispose()
        reset_database(database_url)
    store = MemoryStore(lambda: NOW)
    _seed_memory(store)
    assert _script(store.unit_of_work) == sql_said
    assert _memory_rows(store) == sql_rows
    assert sql_rows["connections"] == [11, 13] and sql_rows["stock"] == ["pending", "superseded"]   # it did something
