"""An order moved to the Trash in the shop is never shipped to bol.com: flagged "Trashed in shop"
(listed with the errors), whether the shop said so by webhook (order.updated "trash" then
order.deleted from the 7.8 admin without HPOS, order.deleted alone with HPOS) or only the grace
period's read of the shop order finds it (webhooks lost). Restored, it goes on, once; a T&T added
meanwhile is shipped with it; the merchant's Resend ships a trashed one anyway, once. Every "not
shipped" and "once" is checked after the system is quiet, read twice."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from plugin.demo.stack import running_stack
from plugin.store import models
from plugin.sync.errors import ActionRefused
from plugin.sync.grace_sweep import grace_sweep
from plugin.sync.process_delivery import process_delivery
from plugin.sync.resend import resend
from sandbox.woocommerce.state import WooState
from tests.e2e.merchant_browser import Browser

pytestmark = pytest.mark.e2e

GRACE = {"grace_seconds": 600}                      # 10 min; the waits below are moved back past it
WAITED = timedelta(minutes=13, seconds=30)
TRASHED = "moved to the Trash in the shop"


@pytest.fixture(params=[("7.8.2", False), ("9.9.5", True)], ids=["wc7.8-posts", "wc9.9-hpos"])
def shop_stack(request, database_url):
    version, hpos = request.param
    woo = WooState(wc_version=version, hpos=hpos, require_https_callback=False)
    with running_stack(outbox_retry_seconds=2, in_flight_seconds=3, woo_state=woo) as s:
        yield s


# ---------------------------------------------------------------- helpers
def _waiting_order(stack) -> tuple[str, int, int]:
    """A bol order created in the shop and completed there without T&T: waiting for its T&T.
    Returns (external id, shop order id, our order id)."""
    stack.connect(settings=GRACE)
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id)
    stack.wait_for(lambda: stack.order_rows()[ext].status == "waiting", what="waiting for its T&T")
    return ext, shop_order_id, stack.order_rows()[ext].id


def _trash_in_admin(stack, shop_order_id: int) -> None:
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/trash").raise_for_status()


def _restore_in_admin(stack, shop_order_id: int) -> None:
    """"Restore" in the admin's Trash, a second or more after the completion, as a person does:
    within the same second the restored order's order.updated would be byte for byte the
    completion's, with the same delivery id (WooCommerce's is per webhook and second), and be
    taken for a redelivery (the shop poll would then bring the restore in)."""
    time.sleep(1.1)
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/restore").raise_for_status()


def _no_shop_poll(stack) -> None:
    """Keep the safety-net shop poll away: only the grace period's read may find the change."""
    with stack.ctx.db.session() as s:
        s.get(models.Shop, stack.shop_id).next_poll_at = stack.ctx.clock() + timedelta(days=1)


def _grace_runs_out(stack, ext: str) -> list[int]:
    """The order has waited 13 min 30 s with a 10 min grace: the heartbeat and a sweep run."""
    with stack.ctx.db.session() as s:
        s.execute(update(models.Order).where(models.Order.external_id == ext)
                  .values(waiting_since=stack.ctx.clock() - WAITED))
    stack.tick()                       # the heartbeat's own grace sweep, on the worker
    return grace_sweep(stack.ctx)      # and one here, at the same time: nothing may double


def _flagged(stack, ext: str) -> bool:
    row = stack.order_rows()[ext]
    return row.status == "error" and (row.error or "").startswith(TRASHED)


def _quiet(stack) -> None:
    """Nothing on its way any more: no job queued, executing or due, every webhook delivered and
    processed, no row leased (Stack.wait_quiet). Whatever is read after this is final."""
    stack.wait_quiet()


def _bol_shipments(stack, ext: str) -> list[dict]:
    """bol's shipments of the order, read afresh once the system is quiet."""
    _quiet(stack)
    return [s for s in stack.shipments() if s["order_id"] == ext]


def _merchant(stack) -> Browser:
    browser = Browser()
    browser.install(stack.app_url, stack.woo_url)     # the same shop: keys renewed, settings kept
    return browser


def _row_text(html: str, ext: str) -> str:
    match = re.search(rf'<tr data-order="{re.escape(ext)}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {ext}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _record_delivery(stack, topic: str, payload: dict, name: str) -> int:
    """A delivery as the webhook endpoint records it, for one that arrives late or out of order."""
    body = json.dumps(payload)
    with stack.ctx.db.session() as s:
        row = models.WebhookDelivery(shop_id=stack.shop_id, delivery_id=name, topic=topic, payload=body,
                                     fingerprint=hashlib.sha256(f"{name}{body}".encode()).hexdigest())
        s.add(row)
        s.flush()
        return row.id


# ---------------------------------------------------------------- (a) trashed in the admin
def test_an_order_trashed_in_the_shop_admin_is_flagged_not_shipped_when_its_grace_runs_out(shop_stack):
    stack = shop_stack
    ext, shop_order_id, order_id = _waiting_order(stack)
    _trash_in_admin(stack, shop_order_id)
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged as trashed by the shop's webhooks")

    _grace_runs_out(stack, ext)
    assert _bol_shipments(stack, ext) == []
    assert stack.shipment_rows().get(ext) is None and _flagged(stack, ext)

    # the timeline says why, and through which webhook (7.8 without HPOS: the "trash" update
    # comes first; HPOS: the deletion alone, the order read again)
    topic = "order.updated" if not stack.woo_state.hpos else "order.deleted"
    [why] = [m for m in stack.timeline(order_id) if TRASHED in m]
    assert why.startswith("error: ") and f"via webhook {topic}" in why and "not shipped" in why

    merchant = _merchant(stack)
    try:
        listed = merchant.get(f"{stack.app_url}/admin/orders", params={"tab": "errors"})
        assert "Trashed in shop" in _row_text(listed.text, ext)
        page = merchant.get(f"{stack.app_url}/admin/orders/{order_id}").text
        assert re.search(r'id="order-status">Trashed in shop<', page)
        assert 'id="trashed-hint"' in page and TRASHED in page
    finally:
        merchant.close()


# ---------------------------------------------------------------- (b) its webhooks lost
def test_a_trashed_order_whose_webhooks_were_lost_is_found_by_the_grace_read_and_not_shipped(stack):
    ext, shop_order_id, order_id = _waiting_order(stack)
    stack.pause_webhooks()
    _no_shop_poll(stack)
    _trash_in_admin(stack, shop_order_id)
    assert stack.order_rows()[ext].status == "waiting"     # nothing told us

    assert _grace_runs_out(stack, ext) == []
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged by the grace read")
    assert _bol_shipments(stack, ext) == []
    [why] = [m for m in stack.timeline(order_id) if TRASHED in m]
    assert "via grace check: the shop order read again" in why
    assert not any("shipped without it" in m for m in stack.timeline(order_id))


def test_an_order_deleted_for_good_with_its_webhooks_lost_is_flagged_and_a_late_older_view_does_not_ship_it(stack):
    ext, shop_order_id, order_id = _waiting_order(stack)
    stack.pause_webhooks()
    _no_shop_poll(stack)
    stack.add_tracking(shop_order_id, "PostNL", "3SLATE0000001")
    before = stack.woo.get(f"/wp-json/wc/v3/orders/{shop_order_id}", auth=stack.woo_state_keys).json()
    stack.woo.delete(f"/wp-json/wc/v3/orders/{shop_order_id}", params={"force": "true"},
                     auth=stack.woo_state_keys).raise_for_status()

    assert _grace_runs_out(stack, ext) == []
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged: gone from the shop")
    assert any("gone from the shop" in m for m in stack.timeline(order_id))
    # the order.updated sent before the deletion (with the T&T) arrives now: an older view,
    # it does not bring the order back, nor ship it
    late = _record_delivery(stack, "order.updated", before, "late-before-deletion")
    assert process_delivery(stack.ctx, late) == "stale"
    assert _bol_shipments(stack, ext) == [] and _flagged(stack, ext)


def test_an_order_deleted_that_arrives_after_the_restore_does_not_flag_it(stack):
    """order.deleted is only {"id": N}, and deliveries come reordered: the shop is read again
    before flagging, and the restored order goes on."""
    ext, shop_order_id, _ = _waiting_order(stack)
    stack.pause_webhooks()
    _trash_in_admin(stack, shop_order_id)
    _restore_in_admin(stack, shop_order_id)
    late = _record_delivery(stack, "order.deleted", {"id": shop_order_id}, "late-deletion")
    process_delivery(stack.ctx, late)
    assert stack.order_rows()[ext].status == "waiting"


# ---------------------------------------------------------------- (c) restored
def test_restored_in_the_shop_it_ships_once_when_its_grace_runs_out_saying_the_real_wait(stack):
    ext, shop_order_id, order_id = _waiting_order(stack)
    _trash_in_admin(stack, shop_order_id)
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged")
    _restore_in_admin(stack, shop_order_id)
    stack.wait_for(lambda: stack.order_rows()[ext].status == "waiting", what="back to waiting")
    assert any("restored from the Trash in the shop" in m for m in stack.timeline(order_id))

    _grace_runs_out(stack, ext)
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipped without T&T")
    [shipment] = _bol_shipments(stack, ext)
    assert not shipment["body"].get("transport")
    # (e) the real wait, not the grace setting
    [line] = [m for m in stack.timeline(order_id) if "shipped without it" in m]
    assert re.search(r"no track & trace after 13 min 3\d s \(grace 10 min\)", line), line
    # later sweeps and heartbeats change nothing
    _grace_runs_out(stack, ext)
    assert len(_bol_shipments(stack, ext)) == 1


def test_restored_then_given_its_track_and_trace_it_ships_once_with_it(stack):
    ext, shop_order_id, _ = _waiting_order(stack)
    _trash_in_admin(stack, shop_order_id)
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged")
    _restore_in_admin(stack, shop_order_id)
    stack.add_tracking(shop_order_id, "PostNL", "3SREST0000001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipped with T&T")
    _grace_runs_out(stack, ext)
    [shipment] = _bol_shipments(stack, ext)
    assert shipment["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": "3SREST0000001"}


# ---------------------------------------------------------------- (d) T&T whose webhook was lost
def test_track_and_trace_added_with_its_webhook_lost_is_shipped_with_it_by_the_grace_read_once(stack):
    ext, shop_order_id, order_id = _waiting_order(stack)
    stack.pause_webhooks()
    _no_shop_poll(stack)
    stack.add_tracking(shop_order_id, "PostNL", "3SLOST0000001")
    assert stack.order_rows()[ext].status == "waiting"

    _grace_runs_out(stack, ext)
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipped")
    [shipment] = _bol_shipments(stack, ext)
    assert shipment["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": "3SLOST0000001"}
    assert stack.order_rows()[ext].tracking_number == "3SLOST0000001"
    assert not any("shipped without it" in m for m in stack.timeline(order_id))


def test_a_shop_that_cannot_be_read_ships_nothing_and_is_asked_again_at_the_next_sweep(stack):
    ext, shop_order_id, _ = _waiting_order(stack)
    stack.pause_webhooks()
    _no_shop_poll(stack)
    _trash_in_admin(stack, shop_order_id)
    stack.woo.put("/_sandbox/faults", json={"error_rate": 1.0}).raise_for_status()   # every call a 5xx
    assert _grace_runs_out(stack, ext) == []
    assert stack.order_rows()[ext].status == "waiting"        # not shipped without the answer
    stack.woo.put("/_sandbox/faults", json={"error_rate": 0.0}).raise_for_status()
    assert grace_sweep(stack.ctx) == []
    assert _flagged(stack, ext) and _bol_shipments(stack, ext) == []


# ---------------------------------------------------------------- (f) Resend
def test_resend_of_a_trashed_order_ships_it_once_without_track_and_trace(stack):
    ext, shop_order_id, order_id = _waiting_order(stack)
    _trash_in_admin(stack, shop_order_id)
    stack.wait_for(lambda: _flagged(stack, ext), what="flagged")
    assert "though it is in the shop's Trash" in resend(stack.ctx, stack.shop_id, order_id)
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipped anyway")
    with pytest.raises(ActionRefused):
        resend(stack.ctx, stack.shop_id, order_id)      # a second click: nothing left to send
    _grace_runs_out(stack, ext)
    [shipment] = _bol_shipments(stack, ext)
    assert not shipment["body"].get("transport")
    assert stack.order_rows()[ext].status == "shipped"
    assert any("shipped without track & trace anyway" in m for m in stack.timeline(order_id))
