"""The merchant's buttons on an order: Resend and Handle manually. Nothing is ever doubled, and a
manually handled order is never touched again."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.store import models
from plugin.sync.errors import ActionRefused
from plugin.sync.handle_manually import handle_manually
from plugin.sync.poll_shop import poll_shop
from plugin.sync.resend import resend

pytestmark = pytest.mark.e2e

BAD_CARRIER = {"transporters": {"default": "NOT-A-CARRIER", "use_provider_names": False}}


def _set_faults(client, **faults):
    client.put("/_sandbox/faults", json=faults).raise_for_status()


def _binding(stack, ext) -> models.Binding | None:
    with stack.ctx.db.session() as s:
        return s.scalar(select(models.Binding).where(models.Binding.external_id == ext))


def _order_id(stack, ext) -> int:
    return stack.order_rows()[ext].id


def _creation_given_up(stack, monkeypatch) -> str:
    """An order whose creation the shop committed but answered 500, and that orderbridge then
    gave up on (one attempt allowed): the binding is `error`, the order IS in the shop. Webhooks
    are paused so the shop's own order.created cannot adopt it behind our back."""
    monkeypatch.setattr("plugin.sync.create_in_shop.MAX_ATTEMPTS", 1)
    stack.connect()
    stack.pause_webhooks()
    _no_shop_poll(stack)
    [ext] = stack.seed(1)
    _set_faults(stack.woo, fail_after_commit_next=1)
    stack.poll()
    stack.wait_for(lambda: (b := _binding(stack, ext)) is not None and b.state == "error", what="creation given up")
    assert stack.order_rows()[ext].status == "error"
    assert len(stack.shop_orders_by_external()[ext]) == 1     # the lost answer's order exists
    return ext


def _no_shop_poll(stack) -> None:
    """Keep the heartbeat's safety-net shop poll away, which would adopt the order by its marker."""
    with stack.ctx.db.session() as s:
        s.get(models.Shop, stack.shop_id).next_poll_at = stack.ctx.clock() + timedelta(days=1)


def _shipment_refused(stack) -> str:
    """An order shipped with a transporter bol does not know: bol's process ends in FAILURE, the
    shipment is `failed`, the order in error. Then the merchant fixes the transporter rules."""
    stack.connect(settings=BAD_CARRIER)
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id, "PostNL", "3SFAIL0000001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "failed", timeout=30,
                   what="bol refused the shipment")
    assert stack.order_rows()[ext].status == "error"
    assert [s["status"] for s in stack.shipments() if s["order_id"] == ext] == ["FAILURE"]
    with stack.ctx.db.session() as s:   # what the settings page does
        shop = s.get(models.Shop, stack.shop_id)
        shop.settings = {**shop.settings, "transporters": {"default": "TNT", "rules": [], "use_provider_names": False}}
    return ext


def _created_once(stack, ext):
    b = _binding(stack, ext)
    return b is not None and b.state == "created" and b


def _shipped_once(stack, ext):
    return stack.shipment_rows()[ext].state == "success"


def test_resend_after_a_given_up_creation_finds_the_order_instead_of_creating_it_twice(stack, monkeypatch):
    ext = _creation_given_up(stack, monkeypatch)
    order_id = _order_id(stack, ext)
    with pytest.raises(ActionRefused):
        resend(stack.ctx, stack.shop_id + 1, order_id)          # not this shop's order
    assert "creating the order in the shop again" in resend(stack.ctx, stack.shop_id, order_id)
    binding = stack.wait_for(lambda: _created_once(stack, ext), what="binding created after the resend")
    [shop_order] = stack.shop_orders_by_external()[ext]
    assert binding.shop_order_id == shop_order["id"]
    assert stack.order_rows()[ext].status == "not_shipped"
    messages = stack.timeline(order_id)
    assert any("resend requested by the merchant" in m for m in messages), messages
    assert any("found the order an earlier attempt created" in m for m in messages), messages
    with pytest.raises(ActionRefused, match="nothing to resend"):
        resend(stack.ctx, stack.shop_id, order_id)


def test_resend_right_after_a_timed_out_creation_waits_out_the_in_flight_horizon(stack, monkeypatch):
    """The last attempt timed out (1 s) and was given up, but the shop goes on and saves the order
    a second later. A click on Resend at once must not look it up before the horizon (3 s here),
    or it would miss the late order and create a second one."""
    monkeypatch.setattr("plugin.sync.create_in_shop.MAX_ATTEMPTS", 1)
    stack.connect(settings={"http_timeout_seconds": 1.0})
    stack.pause_webhooks()
    _no_shop_poll(stack)
    [ext] = stack.seed(1)
    _set_faults(stack.woo, timeout_rate=1.0, timeout_sleep=2.0)
    stack.poll()
    stack.wait_for(lambda: (b := _binding(stack, ext)) is not None and b.state == "error", what="timed out, given up")
    _set_faults(stack.woo, timeout_rate=0.0)
    assert stack.shop_orders_by_external().get(ext) is None          # not yet: still running in the shop
    message = resend(stack.ctx, stack.shop_id, _order_id(stack, ext))
    assert "an earlier request may still be running" in message, message
    stack.wait_for(lambda: _created_once(stack, ext), timeout=20, what="created after the resend")
    stack.wait_quiet()
    assert len(stack.shop_orders_by_external()[ext]) == 1


def test_resend_after_bols_failure_ships_exactly_once_with_the_fixed_transporter(stack):
    ext = _shipment_refused(stack)
    order_id = _order_id(stack, ext)
    assert stack.shipment_rows()[ext].sent_at is None       # bol's FAILURE: nothing on bol
    assert "sending the shipment again" in resend(stack.ctx, stack.shop_id, order_id)
    stack.wait_for(lambda: _shipped_once(stack, ext), timeout=30, what="shipment confirmed after the resend")
    received = [s for s in stack.shipments() if s["order_id"] == ext]
    assert [s["status"] for s in received] == ["FAILURE", "SUCCESS"]
    assert received[1]["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": "3SFAIL0000001"}
    assert stack.order_rows()[ext].status == "shipped"
    stack.wait_quiet()                                # settled: whatever the sweeps find now is a leftover
    stack.tick()
    stack.wait_quiet()
    assert len([s for s in stack.shipments() if s["order_id"] == ext]) == 2


def test_resend_after_a_garbled_answer_looks_the_shipment_up_instead_of_shipping_twice(stack, monkeypatch):
    """bol took the shipment but answered 202 with a body that is no process status; orderbridge
    gave up (one attempt allowed). The outcome is unknown, so the merchant's Resend must find the
    shipment bol already has, never send a second one."""
    monkeypatch.setattr("plugin.sync.push_shipment.MAX_ATTEMPTS", 1)
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    _set_faults(stack.bol, garble_after_commit_next=1)
    stack.complete(shop_order_id, "PostNL", "3SGARBLE00001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "failed", timeout=30,
                   what="push given up after the garbled answer")
    assert stack.shipment_rows()[ext].sent_at is not None        # unknown outcome: kept
    stack.wait_for(lambda: [s for s in stack.shipments() if s["order_id"] == ext and s["status"] == "SUCCESS"],
                   what="bol processed the shipment it took")
    resend(stack.ctx, stack.shop_id, _order_id(stack, ext))
    stack.wait_for(lambda: _shipped_once(stack, ext), timeout=30, what="the earlier shipment found")
    assert len([s for s in stack.shipments() if s["order_id"] == ext]) == 1


@pytest.mark.parametrize("what", ["creation", "shipment"])
def test_two_resends_at_once_never_double(stack, monkeypatch, what):
    ext = _creation_given_up(stack, monkeypatch) if what == "creation" else _shipment_refused(stack)
    order_id = _order_id(stack, ext)
    barrier = threading.Barrier(2)
    results: list = []

    def click():
        barrier.wait()
        try:
            results.append(resend(stack.ctx, stack.shop_id, order_id))
        except ActionRefused as exc:
            results.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # One click resends; the other is refused (or, when it reads after the first committed, at
    # most says when the already scheduled attempt runs): never a second resend.
    resent = [r for r in results if isinstance(r, str) and " again" in r]
    assert len(results) == 2 and len(resent) == 1, results
    if what == "creation":
        stack.wait_for(lambda: _created_once(stack, ext), what="created")
    else:
        stack.wait_for(lambda: _shipped_once(stack, ext), timeout=30, what="shipped")
    stack.wait_quiet()                                # settled: whatever the sweeps find now is a leftover
    stack.tick()
    stack.wait_quiet()
    assert len(stack.shop_orders_by_external()[ext]) == 1
    if what == "shipment":
        assert [s["status"] for s in stack.shipments() if s["order_id"] == ext] == ["FAILURE", "SUCCESS"]
    assert sum("resend requested by the merchant" in m and " again" in m for m in stack.timeline(order_id)) == 1


def test_resend_brings_a_backed_off_retry_forward(stack):
    """Not in error, but the shop answered 429 with Retry-After: 60 and the next attempt waits a
    minute: Resend tries again now (after the in-flight horizon, 3 s here), once."""
    stack.connect()
    stack.pause_webhooks()
    _no_shop_poll(stack)
    [ext] = stack.seed(1)
    # on the creation itself: the line's product look-up before it (a GET) would wait the
    # Retry-After out in the adapter's read retries
    _set_faults(stack.woo, rate_limit_writes=1, retry_after=60)
    stack.poll()

    def backed_off():
        b = _binding(stack, ext)
        return b is not None and b.next_attempt_at is not None and b.lease_until is None and b
    binding = stack.wait_for(backed_off, timeout=20, what="creation waiting on Retry-After")
    assert (binding.next_attempt_at - stack.ctx.clock()).total_seconds() > 50
    order_id = _order_id(stack, ext)
    message = resend(stack.ctx, stack.shop_id, order_id)
    assert message.startswith("creating the order in the shop in "), message
    stack.wait_for(lambda: _created_once(stack, ext), timeout=15, what="created long before the minute is up")
    assert len(stack.shop_orders_by_external()[ext]) == 1
    with pytest.raises(ActionRefused, match="nothing to resend"):
        resend(stack.ctx, stack.shop_id, order_id)


def test_handled_manually_nothing_touches_the_order_again(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    order_id = _order_id(stack, ext)
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(ActionRefused):
            handle_manually(stack.ctx, stack.shop_id, order_id, bad)
    with pytest.raises(ActionRefused):
        handle_manually(stack.ctx, stack.shop_id + 1, order_id, "not my order")
    handle_manually(stack.ctx, stack.shop_id, order_id, "customer collected it at the counter")
    row = stack.order_rows()[ext]
    assert (row.status, row.manual_reason) == ("manual", "customer collected it at the counter")
    assert row.manual_at is not None
    with pytest.raises(ActionRefused):
        handle_manually(stack.ctx, stack.shop_id, order_id, "twice")
    with pytest.raises(ActionRefused):
        resend(stack.ctx, stack.shop_id, order_id)
    version = row.version

    # the shop completes it with T&T: the webhook, the safety-net poll and the sweeps all leave it
    stack.complete(shop_order_id, "PostNL", "3SMANUAL00001")
    assert stack.woo_state.wait_for_deliveries(10)

    def deliveries_processed():
        with stack.ctx.db.session() as s:
            rows = list(s.scalars(select(models.WebhookDelivery).where(models.WebhookDelivery.shop_id == stack.shop_id)))
        return rows and all(r.processed_at is not None for r in rows)
    stack.wait_for(deliveries_processed, what="the completion webhook processed")
    assert poll_shop(stack.ctx, stack.shop_id).get("handled manually", 0) >= 1
    stack.tick()
    stack.wait_quiet()
    row = stack.order_rows()[ext]
    assert row.status == "manual" and row.tracking_number is None and row.version == version
    assert stack.shipment_rows() == {} and stack.shipments() == []
    assert any("handled manually by the merchant: customer collected it" in m for m in stack.timeline(order_id))


def test_handled_manually_while_the_creation_waits_on_a_retry_it_is_never_created(stack):
    stack.connect()
    stack.pause_webhooks()
    [ext] = stack.seed(1)
    _set_faults(stack.woo, error_rate=1.0)
    stack.poll()
    stack.wait_for(lambda: (b := _binding(stack, ext)) is not None and b.attempts >= 2, timeout=20,
                   what="creation failing")
    order_id = _order_id(stack, ext)

    def handled():
        try:
            handle_manually(stack.ctx, stack.shop_id, order_id, "created it by hand")
            return True
        except ActionRefused as exc:          # a worker holds the binding right now
            assert "right now" in str(exc), exc
            return False
    stack.wait_for(handled, timeout=20, interval=0.02, what="handled manually")
    assert _binding(stack, ext).state == "manual"
    _set_faults(stack.woo, error_rate=0.0)
    for _ in range(3):
        stack.tick()
        time.sleep(1.2)                               # past the in-flight horizon, tick by tick
    stack.wait_quiet()
    assert stack.shop_orders_by_external().get(ext) is None
    assert _binding(stack, ext).state == "manual"
    assert stack.order_rows()[ext].status == "manual"
    assert any("may have created it in the shop" in m for m in stack.timeline(order_id))
