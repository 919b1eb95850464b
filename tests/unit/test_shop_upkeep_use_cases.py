"""The shop's own upkeep as use cases on the in-memory store: disconnecting (by the merchant or a
401), the shop poll's cursor when the shop fails, a shorter interval applying at once, and the
retention purge. No database, no HTTP: the store's twin and fake ports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.errors import AuthError, Transient
from plugin.sync.disconnect import disconnect_shop, shop_active, shop_refused_keys
from plugin.sync.errors import ActionRefused
from plugin.sync.poll_shop import OVERLAP, poll_shop
from plugin.sync.purge import GRANT_KEEP, STOCK_HISTORY, purge_if_due
from plugin.sync.shop_settings import save_shop_settings, with_defaults
from tests.unit.memory_context import NOW, memory_context


@pytest.fixture
def world(tmp_path):
    ctx, store, clock = memory_context(tmp_path, retention_days=90)
    shop = store.add("shops", public_id="pub-1", name="Shop", url="https://shop.example", credentials="",
                     webhook_secret=ctx.box.seal("s3cret"), created_at=NOW - timedelta(days=10))
    return ctx, store, clock, shop


def test_a_disconnection_stops_the_shop_and_removes_our_webhooks_once(world):
    ctx, store, clock, shop = world
    disconnect_shop(ctx, shop.id, "  uninstalled by the merchant ")
    assert not shop_active(shop) and shop.disconnected_at == NOW and shop.disconnect_reason == "uninstalled by the merchant"
    assert ctx.adapters.shops[shop.id].calls == [("remove_webhooks", "https://ob.example/webhooks/woocommerce/pub-1")]
    clock.advance(hours=1)
    disconnect_shop(ctx, shop.id, "again", remove_webhooks=False)
    assert shop.disconnected_at == NOW and shop.disconnect_reason == "uninstalled by the merchant"   # the first stands


def test_webhooks_that_cannot_be_removed_are_told_in_the_reason_and_the_disconnection_stands(world):
    ctx, store, clock, shop = world
    ctx.adapters.shop(shop).fail = Transient("502 from the shop")
    disconnect_shop(ctx, shop.id, "")
    assert shop.status == "disconnected"
    assert shop.disconnect_reason.startswith("disconnected; our webhooks could not be removed (502 from the shop)")


def test_dead_keys_disconnect_without_calling_the_shop_and_an_unknown_shop_is_refused(world):
    ctx, store, clock, shop = world
    reason = shop_refused_keys(ctx, shop.id, AuthError("401", status=401))
    assert reason == shop.disconnect_reason == "the shop refused our API keys (401): reinstall the app"
    assert shop.id not in ctx.adapters.shops or ctx.adapters.shops[shop.id].calls == []
    before = {name: dict(rows) for name, rows in store.tables.items()}
    with pytest.raises(ActionRefused, match="no shop with id 99"):
        disconnect_shop(ctx, 99, "x")
    assert {name: dict(rows) for name, rows in store.tables.items()} == before


def test_a_shop_poll_that_fails_keeps_its_cursor_and_says_why(world):
    ctx, store, clock, shop = world
    port = ctx.adapters.shop(shop)
    port.fail = Transient("timed out")
    with pytest.raises(Transient):
        poll_shop(ctx, shop.id)
    cursor, = store.rows("poll_cursors", stream=f"shop:{shop.id}:orders")
    assert cursor.cursor_at is None and cursor.last_error == "timed out"
    assert port.calls == [("orders_modified_after", shop.created_at - OVERLAP)]
    port.fail = AuthError("401 Unauthorized", status=401)
    assert poll_shop(ctx, shop.id) == {"shop disconnected": 1}
    assert shop.status == "disconnected" and cursor.cursor_at is None and "refused our API keys" in cursor.last_error
    assert poll_shop(ctx, shop.id) == {}                         # a disconnected shop is not polled
    assert len(port.calls) == 2


def test_a_shorter_interval_applies_at_once_and_a_longer_one_keeps_the_slot(world):
    ctx, store, clock, shop = world
    conn = store.add("connections", shop_id=shop.id, marketplace="bol", name="bol NL", credentials="",
                     returns_poll_at=NOW + timedelta(minutes=50), stock_reconcile_at=NOW + timedelta(minutes=4))
    other = store.add("connections", shop_id=999, marketplace="bol", name="not this shop's", credentials="",
                      returns_poll_at=NOW + timedelta(minutes=50))
    shop.next_poll_at = NOW + timedelta(minutes=4)
    save_shop_settings(ctx, shop.id, {**with_defaults({}), "returns_poll_seconds": 60, "shop_poll_seconds": 600})
    # the hourly returns poll last ran 10 minutes ago: a minute after that is past, so now
    assert conn.returns_poll_at == NOW and other.returns_poll_at == NOW + timedelta(minutes=50)
    assert shop.next_poll_at == NOW + timedelta(minutes=4) and conn.stock_reconcile_at == NOW + timedelta(minutes=4)
    assert shop.settings["returns_poll_seconds"] == 60


def test_the_purge_runs_once_an_hour_and_deletes_only_what_retention_lets_go(world):
    ctx, store, clock, shop = world
    old = store.add("shops", public_id="pub-2", name="Gone", url="https://gone.example", credentials="",
                    webhook_secret="", status="disconnected", disconnected_at=NOW - timedelta(days=91))
    recent = store.add("shops", public_id="pub-3", name="Recent", url="https://recent.example", credentials="",
                       webhook_secret="", status="disconnected", disconnected_at=NOW - timedelta(days=89))
    conn = store.add("connections", shop_id=old.id, marketplace="bol", name="bol", credentials="")
    order = store.add("orders", shop_id=old.id, connection_id=conn.id, external_id="A1")
    store.add("order_lines", order_id=order.id, external_line_id="1", quantity=1, unit_price="1.00")
    store.add("poll_cursors", stream=f"connection:{conn.id}:orders")
    kept_cursor = store.add("poll_cursors", stream=f"shop:{shop.id}:orders")
    link = store.add("offer_links", connection_id=999, shop_product_id=1)
    store.add("stock_updates", connection_id=999, link_id=link.id, state="sent", updated_at=NOW - STOCK_HISTORY - timedelta(1))
    pending = store.add("stock_updates", connection_id=999, link_id=link.id, state="pending",
                        updated_at=NOW - timedelta(days=30))
    store.add("auth_grants", nonce="n1", purpose="install", store_url="x", expires_at=NOW - GRANT_KEEP - timedelta(1))
    fresh = store.add("auth_grants", nonce="n2", purpose="install", store_url="x", expires_at=NOW)

    assert purge_if_due(ctx) == 1
    assert set(store.tables["shops"]) == {shop.id, recent.id}
    assert store.tables["connections"] == {} and store.tables["orders"] == {} and store.tables["order_lines"] == {}
    assert list(store.tables["poll_cursors"].values()) == [kept_cursor, *store.rows("poll_cursors",
                                                                                    stream="maintenance:purge")]
    assert list(store.tables["stock_updates"].values()) == [pending]
    assert list(store.tables["auth_grants"].values()) == [fresh]

    recent.disconnected_at = NOW - timedelta(days=91)
    clock.advance(minutes=59)                  # `recent` is past retention now, but the hour is not
    assert purge_if_due(ctx) == 0 and recent.id in store.tables["shops"]
    clock.advance(minutes=1)
    recent.status = "active"                   # re-installed meanwhile: never purged
    assert purge_if_due(ctx) == 0 and recent.id in store.tables["shops"]
    recent.status = "disconnected"
    clock.advance(hours=1)
    assert purge_if_due(ctx) == 1 and recent.id not in store.tables["shops"]


def test_a_unit_of_work_that_fails_leaves_nothing_behind(world):
    ctx, store, clock, shop = world
    with pytest.raises(RuntimeError), ctx.unit_of_work() as uow:
        uow.shops.disconnect(shop.id, NOW, "half-way")
        raise RuntimeError("killed")
    assert store.tables["shops"][shop.id].status == "active"


def test_a_shop_poll_that_goes_through_moves_its_cursor_keeps_our_webhooks_and_asks_what_the_shop_has(world):
    from plugin.sync.ports import ShopCapabilities, ShopOrder
    ctx, store, clock, shop = world
    port = ctx.adapters.shop(shop)
    port.capabilities = ShopCapabilities(version="9.9.5", has_gtin=True)
    port.orders = [ShopOrder(id=5, number="5", status="completed", ref=None, date_created=NOW, date_modified=NOW)]
    assert poll_shop(ctx, shop.id) == {}                        # not one of ours: nothing applied
    cursor, = store.rows("poll_cursors", stream=f"shop:{shop.id}:orders")
    assert cursor.cursor_at == NOW and cursor.last_error is None
    assert port.calls[1] == ("ensure_webhooks", "https://ob.example/webhooks/woocommerce/pub-1", "s3cret",
                             ("order.created", "order.updated", "order.deleted", "product.updated"))
    assert shop.capabilities == {"version": "9.9.5", "has_gtin": True, "checked_at": NOW.isoformat()}
    clock.advance(hours=23)
    poll_shop(ctx, shop.id)
    assert [c[0] for c in port.calls].count("shop_capabilities") == 1   # asked again daily, not each poll
    assert store.rows("poll_cursors", stream=f"shop:{shop.id}:orders")[0].cursor_at == NOW + timedelta(hours=23)


def test_a_shop_that_cannot_say_what_it_has_keeps_what_it_said_and_is_asked_again_in_an_hour(world):
    from plugin.sync.ports import ShopCapabilities
    from plugin.sync.shop_capabilities import detect_capabilities, refresh_capabilities
    ctx, store, clock, shop = world
    port = ctx.adapters.shop(shop)
    port.capabilities = ShopCapabilities(version="7.8.2", has_gtin=False)
    assert detect_capabilities(ctx, shop.id)["has_gtin"] is False
    clock.advance(days=1)
    port.fail = Transient("503")
    assert refresh_capabilities(ctx, shop.id) == {"version": "7.8.2", "has_gtin": False,
                                                  "checked_at": clock.now.isoformat()}
    assert detect_capabilities(ctx, 99) is None
