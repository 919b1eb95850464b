"""Cancellations both ways, end to end on the sandboxes: the buyer's request (whole order, some
lines, a line that has left, the setting off, before the order reached the shop) and the
merchant's cancellation in the shop (confirmed, refused); lost answers, killed workers and
redelivered webhooks never cancel twice."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from plugin.demo.stack import SELLER
from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.cancellations import push_cancellation
from plugin.sync.ports import CancelItems
from plugin.sync.resend import resend
from tests.e2e.sandbox_helpers import (
    add_offers,
    add_products,
    bol_cancellations,
    bol_order,
    cancellation_rows,
    ean,
    held,
    order_row,
    request_cancellation,
    seed_from_offers,
    set_faults,
    shop_order,
    shop_stock,
)

pytestmark = pytest.mark.e2e


def _seed(stack, items: int = 1) -> str:
    response = stack.bol.post("/_sandbox/orders", json={"client_id": SELLER[0], "count": 1, "items_per_order": items})
    response.raise_for_status()
    return response.json()["order_ids"][0]


def _in_shop(stack, ext: str) -> int:
    stack.poll()
    created = stack.wait_for(lambda: stack.shop_orders_by_external().get(ext), what="order created in the shop")
    return created[0]["id"]


def _status(stack, ext: str, *statuses: str):
    return stack.wait_for(lambda: (o := order_row(stack, ext)) is not None and o.status in statuses and o, timeout=30,
                          what=f"order {ext} {'/'.join(statuses)}")


def _cancelled_on_bol(stack, ext: str) -> list[dict]:
    items = {i["orderItemId"] for i in bol_order(stack, ext)["orderItems"]}
    return [c for c in bol_cancellations(stack) if c["order_item_id"] in items]


def _merchant_sets(stack, shop_order_id: int, status: str) -> None:
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/status", json={"status": status}).raise_for_status()


# ---------------------------------------------------------------- the buyer asks (marketplace -> shop)
def test_the_buyer_cancels_the_whole_order_stock_comes_back(stack):
    stack.connect()
    [product] = add_products(stack, [{"sku": "SKU-C1", "ean": ean(1), "stock": 10}])
    [offer] = add_offers(stack, [{"ean": ean(1), "reference": "SKU-C1", "stock": 10}])
    ext = seed_from_offers(stack, [{"offer_id": offer["offerId"], "quantity": 2}])
    shop_order_id = _in_shop(stack, ext)
    stack.wait_for(lambda: shop_stock(stack)[product["id"]] == 8, what="the shop took 2 off its stock")
    request_cancellation(stack, ext)
    stack.poll()
    order = _status(stack, ext, "cancelled")
    assert shop_order(stack, shop_order_id)["status"] == "cancelled"
    assert shop_stock(stack)[product["id"]] == 10
    [sent] = _cancelled_on_bol(stack, ext)
    assert sent["body"]["orderItems"][0]["reasonCode"] == "REQUESTED_BY_CUSTOMER" and sent["status"] == "SUCCESS"
    [row] = cancellation_rows(stack, order.id)
    assert (row.direction, row.state, row.shop_action) == ("marketplace", "success", "cancel_order")
    assert all(line.cancelled_quantity == line.quantity for line in order.lines)
    timeline = stack.timeline(order.id)
    assert any("the buyer asked to cancel" in m for m in timeline)
    assert any("pending_cancellation" in m for m in timeline)
    assert any(m.startswith(f"shop: order #{shop_order(stack, shop_order_id)['number']} cancelled") for m in timeline)
    assert any("marketplace confirmed the cancellation" in m for m in timeline)
    # polled again: the request is nothing new
    stack.poll()
    stack.wait_quiet()
    assert len(_cancelled_on_bol(stack, ext)) == 1 and len(cancellation_rows(stack, order.id)) == 1


def test_the_buyer_cancels_some_lines_the_rest_ships(stack):
    stack.connect()
    ext = _seed(stack, items=2)
    shop_order_id = _in_shop(stack, ext)
    first, second = [i["orderItemId"] for i in bol_order(stack, ext)["orderItems"]]
    request_cancellation(stack, ext, [first])
    stack.poll()
    stack.wait_for(lambda: [c for c in cancellation_rows(stack) if c.state == "success"], timeout=30,
                   what="line cancelled")
    order = order_row(stack, ext)
    assert order.status == "not_shipped"
    by_line = {line.external_line_id: line for line in order.lines}
    assert by_line[first].cancelled_quantity == by_line[first].quantity and by_line[second].cancelled_quantity == 0
    [row] = cancellation_rows(stack, order.id)
    assert (row.shop_action, row.line_ids) == ("remove_lines", [first])
    assert [c["order_item_id"] for c in _cancelled_on_bol(stack, ext)] == [first]
    assert shop_order(stack, shop_order_id)["status"] != "cancelled"
    # the merchant ships what is left: only the second line goes to bol
    stack.complete(shop_order_id, "PostNL", "3SPARTIAL001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipment confirmed")
    [shipment] = [s for s in stack.shipments() if s["order_id"] == ext]
    assert [i["orderItemId"] for i in shipment["body"]["orderItems"]] == [second]
    lines = {line.external_line_id: line for line in order_row(stack, ext).lines}
    assert (lines[second].shipped_quantity, lines[first].shipped_quantity) == (lines[second].quantity, 0)


def test_a_request_after_the_order_left_is_not_cancelled_and_the_merchant_sees_why(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id)                       # completed without T&T: waiting
    _status(stack, ext, "waiting")
    request_cancellation(stack, ext)
    stack.poll()
    stack.wait_for(lambda: all(x.cancellation_requested for x in order_row(stack, ext).lines), what="request seen")
    stack.wait_quiet()
    order = order_row(stack, ext)                       # read afresh, once nothing is on its way
    assert order.status == "waiting" and cancellation_rows(stack, order.id) == []
    assert _cancelled_on_bol(stack, ext) == []
    assert shop_order(stack, shop_order_id)["status"] == "completed"
    assert any("not cancelled in the shop: the order is completed in the shop" in m and "refuses" in m
               for m in stack.timeline(order.id))


def test_with_the_setting_off_requests_are_only_told_then_the_merchant_decides(stack):
    stack.connect(settings={"marketplace_cancellations": False, "cancel_reason_code": "OUT_OF_STOCK"})
    ext, shop_order_id = stack.order_in_shop()
    request_cancellation(stack, ext)
    stack.poll()
    stack.wait_for(lambda: order_row(stack, ext).lines[0].cancellation_requested, what="request seen")
    stack.wait_quiet()
    order = order_row(stack, ext)                       # read afresh, once nothing is on its way
    assert order.status == "not_shipped" and _cancelled_on_bol(stack, ext) == []
    assert any("automatic cancellation is off" in m for m in stack.timeline(order.id))
    # the merchant agrees and cancels in the shop: confirmed as the buyer's request
    _merchant_sets(stack, shop_order_id, "cancelled")
    _status(stack, ext, "cancelled")
    assert {c["body"]["orderItems"][0]["reasonCode"] for c in _cancelled_on_bol(stack, ext)} == {"REQUESTED_BY_CUSTOMER"}


def test_the_buyer_cancels_before_the_order_reached_the_shop(stack):
    stack.connect()
    ext = _seed(stack)
    request_cancellation(stack, ext)
    stack.poll()
    order = _status(stack, ext, "cancelled")
    with stack.ctx.db.session() as s:
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order.id))
    assert binding.state == "cancelled" and binding.shop_order_id is None
    time.sleep(2.5)
    stack.tick()                                          # the sweeps never create it now
    stack.wait_quiet()
    assert ext not in stack.shop_orders_by_external()
    assert len(_cancelled_on_bol(stack, ext)) == 1


# ---------------------------------------------------------------- the merchant cancels (shop -> marketplace)
def test_the_merchant_cancels_in_the_shop(stack):
    stack.connect(settings={"cancel_reason_code": "OUT_OF_STOCK"})
    ext, shop_order_id = stack.order_in_shop()
    _merchant_sets(stack, shop_order_id, "cancelled")
    order = _status(stack, ext, "cancelled")
    [sent] = _cancelled_on_bol(stack, ext)
    assert sent["body"]["orderItems"][0]["reasonCode"] == "OUT_OF_STOCK" and sent["status"] == "SUCCESS"
    [row] = cancellation_rows(stack, order.id)
    assert (row.direction, row.state, row.reason_code) == ("shop", "success", "OUT_OF_STOCK")
    timeline = stack.timeline(order.id)
    assert timeline.index(next(m for m in timeline if m.startswith("pending_cancellation: cancelled in the shop"))) < \
        timeline.index(next(m for m in timeline if m.startswith("cancelled: ")))
    assert all(item["quantityCancelled"] == item["quantity"] for item in bol_order(stack, ext)["orderItems"])


def test_a_cancellation_the_marketplace_refuses_is_an_error_with_its_reason(stack):
    """The parcel was shipped through bol's own seller portal: bol refuses the cancellation."""
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
    from plugin.sync.ports import ShipmentRequest
    items = tuple(i["orderItemId"] for i in bol_order(stack, ext)["orderItems"])
    marketplace = stack.ctx.adapters.marketplace(conn)
    marketplace.wait_for_process(marketplace.ship(ShipmentRequest(ext, items, "portal-1")).process_id, interval=0.1)
    _merchant_sets(stack, shop_order_id, "cancelled")
    order = _status(stack, ext, "error")
    assert order.error_from == "pending_cancellation" and "refused the cancellation" in order.error
    [row] = cancellation_rows(stack, order.id)
    assert row.state == "failed" and row.last_error


def test_a_refused_request_is_fixed_and_resent(stack):
    stack.connect(settings={"cancel_reason_code": "NOT_A_BOL_CODE"})
    ext, shop_order_id = stack.order_in_shop()
    _merchant_sets(stack, shop_order_id, "cancelled")
    order = _status(stack, ext, "error")
    assert "reason code" in order.error and _cancelled_on_bol(stack, ext) == []
    from tests.e2e.sandbox_helpers import set_shop_settings
    set_shop_settings(stack, cancel_reason_code="OUT_OF_STOCK")
    assert "cancelling again" in resend(stack.ctx, stack.shop_id, order.id)
    _status(stack, ext, "cancelled")
    assert [c["body"]["orderItems"][0]["reasonCode"] for c in _cancelled_on_bol(stack, ext)] == ["OUT_OF_STOCK"]


# ---------------------------------------------------------------- crash safety
def test_the_answer_of_a_cancellation_is_lost(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    set_faults(stack.bol, cancellation_fail_after_commit_next=1)
    _merchant_sets(stack, shop_order_id, "cancelled")
    order = _status(stack, ext, "cancelled")
    sent = _cancelled_on_bol(stack, ext)
    assert len(sent) == 1, sent                      # looked up before sending again: never twice
    [row] = cancellation_rows(stack, order.id)
    assert row.attempts >= 2
    assert any("retrying" in m for m in stack.timeline(order.id))


def test_a_worker_killed_after_sending_the_cancellation(stack):
    """The state a killed worker leaves: bol has the cancellation, our row says `sending`."""
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    stack.pause_webhooks()
    _merchant_sets(stack, shop_order_id, "cancelled")
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
        conn = s.get(models.Connection, stack.connection_id)
    view = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    assert apply_shop_order(held(stack), stack.shop_id, view, "test") == "pending_cancellation"
    [row] = cancellation_rows(stack)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Cancellation).where(models.Cancellation.id == row.id)
                  .values(state="sending", attempts=1, sent_at=stack.ctx.clock()))
    stack.ctx.adapters.marketplace(conn).cancel_items(
        CancelItems(ext, tuple(row.line_ids), row.reason_code))          # it reached bol, then the worker died
    assert push_cancellation(stack.ctx, row.id) in ("submitted", "success")
    _status(stack, ext, "cancelled")
    assert len(_cancelled_on_bol(stack, ext)) == 1
    assert any("found the cancellation an earlier attempt sent" in m for m in stack.timeline(row.order_id))


def test_a_redelivered_cancellation_webhook_cancels_once(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    set_faults(stack.woo, redeliver_rate=1.0)
    _merchant_sets(stack, shop_order_id, "cancelled")
    order = _status(stack, ext, "cancelled")
    stack.wait_quiet()
    stack.ctx.queue.poll_shop(stack.shop_id)           # and the safety-net poll sees it again
    stack.wait_quiet()
    assert len(_cancelled_on_bol(stack, ext)) == 1
    assert len(cancellation_rows(stack, order.id)) == 1


def test_a_lost_cancellation_job_is_found_again_by_the_heartbeat(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    stack.pause_webhooks()
    _merchant_sets(stack, shop_order_id, "cancelled")
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    view = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    apply_shop_order(held(stack), stack.shop_id, view, "test")          # its job is lost
    time.sleep(2.2)
    stack.wait_for(lambda: stack.tick() or order_row(stack, ext).status == "cancelled", what="swept and cancelled")
    assert len(_cancelled_on_bol(stack, ext)) == 1


# ---------------------------------------------------------------- what the poll costs
def _detail_reads(stack) -> int:
    stats = stack.bol.get("/_sandbox/stats").json()["requests"]
    return sum(n for key, n in stats.items() if key.startswith("GET /retailer/orders/<"))


def test_a_poll_with_no_new_requests_reads_no_order_again(stack):
    """bol's open-orders list carries cancellationRequest per item, so a poll where nobody asked
    for anything costs the list call only, however many known orders are open."""
    from plugin.sync.import_orders import import_orders
    stack.connect()
    ext, _ = stack.order_in_shop()
    before = _detail_reads(stack)
    assert import_orders(held(stack), stack.connection_id).checked == []
    assert _detail_reads(stack) == before
    request_cancellation(stack, ext)
    assert import_orders(held(stack), stack.connection_id).checked == [ext]


def test_without_flags_known_open_orders_are_read_again_at_most_once_a_minute(stack):
    """A marketplace whose list cannot say which lines carry a request (cancellation_requested
    None): known orders not yet shipped are read again, never twice within a minute."""
    from plugin.sync.import_orders import _to_check_for_cancellations
    from plugin.sync.ports import OrderSummary
    stack.connect()
    ext, _ = stack.order_in_shop()
    unflagged = OrderSummary(ext, None, ())
    assert _to_check_for_cancellations(stack.ctx, stack.connection_id, [unflagged]) == [ext]
    assert _to_check_for_cancellations(stack.ctx, stack.connection_id, [unflagged]) == []   # read a moment ago


def test_with_flags_in_the_list_only_new_requests_cost_a_read(stack):
    """When the list carries each order's requested lines (bol's cancellationRequest per item),
    a known order is read again only for a request it has not seen yet."""
    from plugin.sync.import_orders import _to_check_for_cancellations
    from plugin.sync.ports import OrderSummary

    stack.connect()
    ext, _ = stack.order_in_shop()
    [item] = [i["orderItemId"] for i in bol_order(stack, ext)["orderItems"]][:1]
    quiet = OrderSummary(ext, None, (item,), cancellation_requested=())
    asked = OrderSummary(ext, None, (item,), cancellation_requested=(item,))
    assert _to_check_for_cancellations(stack.ctx, stack.connection_id, [quiet]) == []
    assert _to_check_for_cancellations(stack.ctx, stack.connection_id, [asked]) == [ext]
    request_cancellation(stack, ext)
    from plugin.sync.import_orders import import_order
    import_order(held(stack), stack.connection_id, ext)           # the request is now known here
    assert _to_check_for_cancellations(stack.ctx, stack.connection_id, [asked]) == []
