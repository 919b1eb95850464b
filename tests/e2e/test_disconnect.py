"""Disconnecting a shop (the merchant, or the shop's own 401): its work stops where it is, our
webhooks go, a re-install resumes everything exactly once; after the retention period it is
purged with everything it owns."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from plugin.demo.stack import SHOP_KEYS
from plugin.inline import InlineQueue
from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.connect import register_shop
from plugin.sync.create_in_shop import create_in_shop
from plugin.sync.disconnect import disconnect_shop
from plugin.sync.dispatch import dispatch
from plugin.sync.import_orders import import_orders
from plugin.sync.poll_shop import poll_shop
from plugin.sync.purge import purge_disconnected_shops, purge_if_due

pytestmark = pytest.mark.e2e

REFUSED = "the shop refused our API keys (401): reinstall the app"
NEW_KEYS = ("ck_reinstalled_000000000000000000000000", "cs_reinstalled_000000000000000000000000")


def _shop(stack) -> models.Shop:
    with stack.ctx.db.session() as s:
        return s.get(models.Shop, stack.shop_id)


def _our_hooks(stack) -> list[dict]:
    return [w for w in stack.shop_webhooks() if f"/webhooks/woocommerce/{_shop(stack).public_id}" in w["delivery_url"]]


def _everything_due(stack) -> None:
    with stack.ctx.db.session() as s:
        for model in (models.Connection, models.Shop):
            for row in s.scalars(select(model)):
                row.next_poll_at = None


def _dispatch_held(stack):
    """One heartbeat whose jobs are kept, not run: what would the dispatcher do?"""
    queue = InlineQueue()
    out = dispatch(dataclasses.replace(stack.ctx, queue=queue), stale_after=0)
    return out, [name for name, _ in queue._pending if name != "grace_sweep"]


def _reinstall(stack, keys=SHOP_KEYS) -> None:
    register_shop(stack.ctx, {"name": "Stack shop", "url": stack.woo_url, "consumer_key": keys[0],
                              "consumer_secret": keys[1], "settings": _shop(stack).settings})


def test_disconnect_removes_our_webhooks_stops_polls_and_a_reinstall_resumes(stack):
    stack.connect()
    assert len(_our_hooks(stack)) == 4
    disconnect_shop(stack.ctx, stack.shop_id, "uninstalled by the merchant")
    shop = _shop(stack)
    assert (shop.status, shop.disconnect_reason) == ("disconnected", "uninstalled by the merchant")
    assert shop.disconnected_at is not None
    assert _our_hooks(stack) == []
    # a second disconnection keeps the first time (retention counts from it)
    disconnect_shop(stack.ctx, stack.shop_id, "again")
    assert (_shop(stack).disconnected_at, _shop(stack).disconnect_reason) == (shop.disconnected_at,
                                                                               "uninstalled by the merchant")

    [ext] = stack.seed(1)
    _everything_due(stack)
    out, jobs = _dispatch_held(stack)
    assert (out.connections, out.shops, jobs) == (0, 0, [])
    assert import_orders(stack.ctx, stack.connection_id).seen == 0      # a stray job does nothing
    assert poll_shop(stack.ctx, stack.shop_id) == {}
    stack.poll()
    stack.wait_quiet()
    assert stack.order_rows() == {} and stack.shop_orders() == []

    _reinstall(stack)
    assert _shop(stack).status == "active" and len(_our_hooks(stack)) == 4
    stack.wait_for(lambda: stack.tick() or stack.shop_orders_by_external().get(ext), timeout=20,
                   interval=0.5, what="the order created after the re-install")
    assert len(stack.shop_orders_by_external()[ext]) == 1


def test_shop_401_disconnects_and_the_reinstall_creates_the_pending_order_exactly_once(stack):
    stack.connect()
    stack.revoke_shop_key()
    [ext] = stack.seed(1)
    stack.poll()
    stack.wait_for(lambda: _shop(stack).status == "disconnected", what="the shop disconnected by its 401")
    assert _shop(stack).disconnect_reason == REFUSED
    assert len(_our_hooks(stack)) == 4      # dead keys cannot remove them: the merchant's reinstall will
    order = stack.order_rows()[ext]
    with stack.ctx.db.session() as s:
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order.id))
    assert order.status == "not_shipped" and binding.state == "creating"   # retryable, not error
    assert binding.attempts == 0 and binding.lease_until is None
    assert create_in_shop(stack.ctx, order.id) == "shop disconnected"
    _everything_due(stack)
    out, jobs = _dispatch_held(stack)
    assert (out.connections, out.shops, out.creations, jobs) == (0, 0, 0, [])

    stack.new_shop_key(*NEW_KEYS)
    _reinstall(stack, NEW_KEYS)
    assert _shop(stack).status == "active" and _shop(stack).disconnect_reason is None
    stack.wait_for(lambda: stack.tick() or _binding_created(stack, ext), timeout=20, interval=0.5,
                   what="created after the reinstall")
    stack.wait_quiet()                                # settled: whatever the sweeps find now is a leftover
    stack.tick()
    stack.wait_quiet()
    assert len(stack.shop_orders_by_external()[ext]) == 1
    assert stack.shop_orders()[0]["id"] == _binding_created(stack, ext).shop_order_id


def _binding_created(stack, ext):
    with stack.ctx.db.session() as s:
        b = s.scalar(select(models.Binding).where(models.Binding.external_id == ext))
        return b if b is not None and b.state == "created" else None


def test_shop_401_on_the_safety_net_poll_disconnects_the_shop(stack):
    stack.connect()
    stack.revoke_shop_key()
    assert poll_shop(stack.ctx, stack.shop_id) == {"shop disconnected": 1}
    shop = _shop(stack)
    assert (shop.status, shop.disconnect_reason) == ("disconnected", REFUSED)


def test_a_disconnected_shops_open_shipment_waits_for_the_reinstall(stack):
    """Completed in the shop, then disconnected before the push: nothing is pushed while it is
    disconnected, and once after the re-install."""
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    disconnect_shop(stack.ctx, stack.shop_id, "uninstalled by the merchant")
    # the shop's webhooks are gone; what a delivery recorded just before would still do:
    stack.complete(shop_order_id, "PostNL", "3SWAIT0000001")
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    shop_order = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    assert apply_shop_order(stack.ctx, stack.shop_id, shop_order, "test") == "shipped"
    time.sleep(1.5)
    out, jobs = _dispatch_held(stack)
    assert (out.shipments, jobs) == (0, [])
    assert stack.shipment_rows()[ext].state == "pending" and stack.shipments() == []
    _reinstall(stack)
    stack.wait_for(lambda: stack.tick() or stack.shipment_rows()[ext].state == "success", timeout=30,
                   interval=0.5, what="pushed after the re-install")
    assert len([s for s in stack.shipments() if s["order_id"] == ext]) == 1


def test_retention_purges_a_long_disconnected_shop_and_nothing_else(stack):
    stack.connect()
    ext, _ = stack.order_in_shop()
    other = register_shop(stack.ctx, {"name": "Other shop", "url": stack.woo_url + "/other",
                                      "consumer_key": SHOP_KEYS[0], "consumer_secret": SHOP_KEYS[1]},
                          install_webhooks=False)
    disconnect_shop(stack.ctx, stack.shop_id, "uninstalled by the merchant")
    days = stack.ctx.settings.retention_days
    now = stack.ctx.clock()
    at = lambda delta: dataclasses.replace(stack.ctx, clock=lambda: now + delta)  # noqa: E731
    assert purge_disconnected_shops(at(timedelta(days=days) - timedelta(hours=1))) == 0
    assert _shop(stack) is not None
    assert purge_disconnected_shops(at(timedelta(days=days, hours=1))) == 1
    with stack.ctx.db.session() as s:
        assert s.get(models.Shop, stack.shop_id) is None
        assert s.get(models.Shop, other) is not None
        for model in (models.Connection, models.Order, models.OrderLine, models.Binding, models.TimelineEntry,
                      models.WebhookDelivery, models.BillingUsage):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__
        assert s.scalar(select(func.count()).select_from(models.PollCursor)
                        .where(models.PollCursor.stream.like(f"%:{stack.connection_id}:%"))) == 0
    # far in the future, the active shop is still kept
    assert purge_disconnected_shops(at(timedelta(days=10 * days))) == 0


def test_the_purge_runs_from_the_heartbeat_at_most_once_an_hour(stack):
    stack.connect()
    first = stack.shop_id
    second = register_shop(stack.ctx, {"name": "Other shop", "url": stack.woo_url + "/other",
                                       "consumer_key": SHOP_KEYS[0], "consumer_secret": SHOP_KEYS[1]},
                           install_webhooks=False)
    disconnect_shop(stack.ctx, first, "uninstalled by the merchant")
    later = stack.ctx.clock() + timedelta(days=stack.ctx.settings.retention_days, hours=1)
    at = lambda delta: dataclasses.replace(stack.ctx, clock=lambda: later + delta, queue=InlineQueue())  # noqa: E731
    assert dispatch(at(timedelta(0))).purged == 1
    disconnect_shop(stack.ctx, second, "uninstalled by the merchant")
    assert dispatch(at(timedelta(minutes=59))).purged == 0        # this hour's purge already ran
    assert purge_if_due(at(timedelta(minutes=61))) == 1
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.Shop)) == 0
