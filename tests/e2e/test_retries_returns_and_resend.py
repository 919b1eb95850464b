"""End to end on the sandboxes: failed reconciles and returns polls come
back soon (not after their interval); the merchant shipping while a buyer's cancellation is being
applied; Resend of cancellations, returns and stock updates; and returns matched to refunds
sensibly (amount-only refunds, consumed quantities, results of returns handled on bol, notes and
refund records never written twice)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from adapters.errors import AuthError, RateLimited, Transient
from plugin.demo.stack import SELLER
from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.cancellations import push_cancellation
from plugin.sync.import_orders import import_order
from plugin.sync.retry import periodic_retry_delay
from plugin.sync.returns import poll_returns
from tests.e2e.sandbox_helpers import (
    add_offers,
    add_products,
    bol_cancellations,
    bol_order,
    bol_returns,
    cancellation_rows,
    ean,
    held,
    order_row,
    request_cancellation,
    return_rows,
    seed_from_offers,
    set_faults,
    shop_order,
)

pytestmark = pytest.mark.e2e


def _conn(stack) -> models.Connection:
    with stack.ctx.db.session() as s:
        return s.get(models.Connection, stack.connection_id)


# ---------------------------------------------------------------- 1. failed periodic jobs retry soon
def test_the_periodic_backoff_grows_respects_retry_after_and_stays_within_the_interval():
    first = [periodic_retry_delay(0, Transient("503"), interval=300) for _ in range(50)]
    assert all(2.5 <= d <= 5.0 for d in first) and len(set(first)) > 1          # jittered
    later = [periodic_retry_delay(100, Transient("503"), interval=300) for _ in range(50)]
    assert all(50 <= d <= 100 for d in later)
    assert all(d <= 300 for d in (periodic_retry_delay(10_000, Transient("x"), interval=300) for _ in range(20)))
    assert all(7 <= periodic_retry_delay(0, RateLimited("429", retry_after=7), interval=300) <= 10.5
               for _ in range(20))


def test_a_failed_reconcile_is_tried_again_soon_then_succeeds(stack):
    stack.connect(settings={"stock_sync": True})
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(stock_reconcile_at=None,
                                                   returns_poll_at=stack.ctx.clock() + timedelta(days=1),
                                                   next_poll_at=stack.ctx.clock() + timedelta(days=1)))
    set_faults(stack.bol, error_rate=1.0)
    started = stack.ctx.clock()
    stack.tick()                                 # claims the next reconcile 300 s ahead, runs it: it fails
    retry_at = stack.wait_for(lambda: (at := _conn(stack).stock_reconcile_at) and at < started + timedelta(seconds=60)
                              and at, timeout=30, what="the failed reconcile brought forward")
    assert retry_at <= stack.ctx.clock() + timedelta(seconds=6)
    set_faults(stack.bol, error_rate=0.0)
    time.sleep(max(0.0, (retry_at - stack.ctx.clock()).total_seconds()) + 0.2)

    def succeeded():
        stack.tick()
        with stack.ctx.db.session() as s:
            cursor = s.scalar(select(models.PollCursor).where(
                models.PollCursor.stream == f"connection:{stack.connection_id}:stock"))
            return cursor is not None and cursor.last_success_at is not None and cursor.last_success_at > started
    stack.wait_for(succeeded, timeout=30, what="the reconcile succeeded on its retry")
    # succeeded: the next one is a whole interval away again
    assert _conn(stack).stock_reconcile_at > stack.ctx.clock() + timedelta(seconds=200)


def test_a_failed_returns_poll_is_tried_again_soon_not_in_an_hour(stack):
    stack.connect()
    set_faults(stack.bol, error_rate=1.0)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(returns_poll_at=None,
                                                   stock_reconcile_at=stack.ctx.clock() + timedelta(days=1),
                                                   next_poll_at=stack.ctx.clock() + timedelta(days=1)))
    started = stack.ctx.clock()
    stack.tick()
    stack.wait_for(lambda: (at := _conn(stack).returns_poll_at) and at < started + timedelta(seconds=60),
                   timeout=30, what="the failed returns poll brought forward")
    set_faults(stack.bol, error_rate=0.0)


def test_a_permanent_failure_is_shown_on_the_connection_and_waits_its_interval(stack):
    stack.connect()
    now = stack.ctx.clock()
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(returns_poll_at=now + timedelta(seconds=3600)))
    from plugin.sync.dispatch import periodic_failed, periodic_succeeded
    assert periodic_failed(stack.ctx, stack.connection_id, "returns", AuthError("401 invalid_client")) is None
    conn = _conn(stack)
    assert conn.returns_poll_at >= now + timedelta(seconds=3500)
    assert conn.last_error.startswith("returns poll failed:")
    periodic_succeeded(stack.ctx, stack.connection_id, "returns")
    assert _conn(stack).last_error is None


# ---------------------------------------------------------------- 2. shipped while the buyer's cancellation is applied
def test_the_merchant_ships_while_the_buyers_cancellation_is_being_applied(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    request_cancellation(stack, ext)
    import_order(held(stack), stack.connection_id, ext)      # the request is planned; its job waits
    order = order_row(stack, ext)
    [row] = cancellation_rows(stack, order.id)
    assert (order.status, row.state) == ("pending_cancellation", "shop_pending")
    # the merchant completes (ships) the order in the shop right then; its view is applied
    stack.complete(shop_order_id, "PostNL", "3SRACE00001")
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    view = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    apply_shop_order(held(stack), stack.shop_id, view, "test")
    # now the cancellation's job runs
    assert push_cancellation(stack.ctx, row.id) == "refused"
    assert shop_order(stack, shop_order_id)["status"] == "completed"        # never cancelled after shipping
    shipped = stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success" and sh,
                             timeout=30, what="the order shipped")
    items = {i["orderItemId"] for i in bol_order(stack, ext)["orderItems"]}
    assert not [c for c in bol_cancellations(stack) if c["order_item_id"] in items]   # nothing confirmed
    assert set(shipped.line_ids) == items
    order = order_row(stack, ext)
    assert order.status == "shipped"
    assert [c.state for c in cancellation_rows(stack, order.id)] == ["refused"]
    assert any("is refused: the merchant completed shop order" in m for m in stack.timeline(order.id))
    assert push_cancellation(stack.ctx, row.id) == "nothing to do"


# ---------------------------------------------------------------- 4. returns matched to refunds
def _shipped(stack, quantity: int = 1) -> tuple[str, int]:
    [product] = add_products(stack, [{"sku": "SKU-R1", "ean": ean(41), "stock": 10}])
    [offer] = add_offers(stack, [{"ean": ean(41), "reference": "SKU-R1", "stock": 10}])
    ext = seed_from_offers(stack, [{"offer_id": offer["offerId"], "quantity": quantity}])
    stack.poll()
    created = stack.wait_for(lambda: stack.shop_orders_by_external().get(ext), what="order created in the shop")
    shop_order_id = created[0]["id"]
    stack.complete(shop_order_id, "PostNL", "3SRET000001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", timeout=30,
                   what="shipped")
    return ext, shop_order_id


def _register(stack, ext: str, quantity: int = 1) -> str:
    item = bol_order(stack, ext)["orderItems"][0]["orderItemId"]
    response = stack.bol.post("/_sandbox/returns", json={"client_id": SELLER[0], "items": [
        {"order_item_id": item, "quantity": quantity, "main_reason": "Defect"}]})
    response.raise_for_status()
    return response.json()["rma_ids"][0]


def _recorded(stack, count: int) -> list[models.Return]:
    stack.ctx.queue.poll_returns(stack.connection_id)
    return stack.wait_for(lambda: len(rows := [r for r in return_rows(stack) if r.shop_state == "done"]) == count
                          and rows, timeout=30, what=f"{count} returns told to the shop")


def _refund(stack, shop_order_id: int, *, quantity: int | None = None, amount: str | None = None) -> None:
    line = shop_order(stack, shop_order_id)["line_items"][0]
    unit = float(line["total"]) / line["quantity"]
    body = {"reason": "came back", "restock_items": False,
            "amount": amount or f"{unit * (quantity or 1):.2f}"}
    if quantity:
        body["line_items"] = [{"id": line["id"], "quantity": quantity, "refund_total": f"{unit * quantity:.2f}"}]
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/refund", json=body).raise_for_status()


def _handlings(stack) -> list[dict]:
    return bol_returns(stack)["handlings"]


def test_two_returns_of_one_line_do_not_share_one_refunded_unit(stack):
    stack.connect()
    ext, shop_order_id = _shipped(stack, quantity=2)
    first, second = _register(stack, ext), _register(stack, ext)
    _recorded(stack, 2)
    _refund(stack, shop_order_id, quantity=1)
    stack.wait_for(lambda: [r for r in return_rows(stack) if r.handle_state == "success"], timeout=30,
                   what="one return handled")
    stack.wait_quiet()
    by_rma = {r.rma_id: r for r in return_rows(stack)}
    assert (by_rma[first].handle_state, by_rma[second].handle_state) == ("success", None)
    assert [h["rma_id"] for h in _handlings(stack)] == [first]
    # the merchant refunds the second unit: now the second return is handled, once
    _refund(stack, shop_order_id, quantity=1)
    stack.wait_for(lambda: all(r.handle_state == "success" for r in return_rows(stack)), timeout=30,
                   what="both handled")
    assert sorted(h["rma_id"] for h in _handlings(stack)) == sorted([first, second])


def test_an_amount_only_refund_handles_the_one_open_return(stack):
    stack.connect()
    ext, shop_order_id = _shipped(stack)
    rma = _register(stack, ext)
    _recorded(stack, 1)
    _refund(stack, shop_order_id, amount="1.00")          # no lines: the order's only open return
    row = stack.wait_for(lambda: (r := return_rows(stack)[0]).handle_state == "success" and r, timeout=30,
                         what="handled")
    assert row.quantity_returned == 1 and row.merchant_refund_id
    assert [h["rma_id"] for h in _handlings(stack)] == [rma]


def test_an_ambiguous_amount_only_refund_is_left_to_the_merchant_with_the_reason(stack):
    stack.connect()
    ext, shop_order_id = _shipped(stack, quantity=2)
    _register(stack, ext)
    _register(stack, ext)
    rows = _recorded(stack, 2)
    _refund(stack, shop_order_id, amount="0.01")          # neither one return's worth nor both
    stack.wait_for(lambda: all((r.last_error or "").startswith("refund #") for r in return_rows(stack)), timeout=30,
                   what="told why")
    assert all(r.handle_state is None for r in return_rows(stack)) and _handlings(stack) == []
    notes = [m for m in stack.timeline(rows[0].order_id) if "has no lines" in m]
    assert 1 <= len(notes) <= 2                          # told, not at every order change


def test_a_return_gone_from_the_open_list_is_recorded_with_the_result_bol_reports(stack):
    stack.connect()
    ext, _ = _shipped(stack)
    rma = _register(stack, ext)
    [row] = _recorded(stack, 1)
    # an RMA that is neither open nor (yet) in bol's handled list
    with stack.ctx.db.session() as s:
        s.execute(update(models.Return).where(models.Return.id == row.id).values(rma_id="999999999"))
    assert poll_returns(held(stack), stack.connection_id)["handled elsewhere"] == 0
    [gone, again] = sorted(return_rows(stack), key=lambda r: r.id)
    assert gone.state == "registered" and gone.handling_result is None
    assert "handled returns do not list it" in gone.last_error
    poll_returns(held(stack), stack.connection_id)
    assert len([m for m in stack.timeline(gone.order_id) if "do not list it" in m]) == 1   # told once
    # handled on bol directly: recorded with bol's result
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
        s.execute(update(models.Return).where(models.Return.id == again.id).values(shop_state="done"))
    from plugin.sync.ports import ReturnHandling
    stack.ctx.adapters.marketplace(conn).handle_return(ReturnHandling(rma, "EXCHANGE_PRODUCT", 1))
    stack.wait_for(lambda: poll_returns(held(stack), stack.connection_id)["handled elsewhere"] == 1, timeout=30,
                   what="handled elsewhere")
    handled = next(r for r in return_rows(stack) if r.rma_id == rma)
    assert (handled.state, handled.handling_result) == ("handled", "EXCHANGE_PRODUCT")


def _notes(stack, shop_order_id: int) -> list[str]:
    auth = (stack.woo_state_keys[0], stack.woo_state_keys[1])
    return [n["note"] for n in stack.woo.get(f"/wp-json/wc/v3/orders/{shop_order_id}/notes", auth=auth).json()]


def test_the_note_of_a_return_is_not_written_twice_after_a_lost_answer(stack):
    stack.connect(settings={"returns_action": "note"})
    ext, shop_order_id = _shipped(stack)
    rma = _register(stack, ext)
    set_faults(stack.woo, note_fail_after_commit_next=1)
    [row] = _recorded(stack, 1)
    assert row.attempts == 0 and row.shop_note_id
    assert len([n for n in _notes(stack, shop_order_id) if f"return {rma}" in n]) == 1
    assert any("found (an earlier attempt wrote it)" in m for m in stack.timeline(row.order_id))


def test_our_refund_record_carries_its_marker_in_meta(stack):
    stack.connect(settings={"returns_action": "refund"})
    ext, shop_order_id = _shipped(stack)
    rma = _register(stack, ext)
    set_faults(stack.woo, refund_fail_after_commit_next=1)
    [row] = _recorded(stack, 1)
    auth = (stack.woo_state_keys[0], stack.woo_state_keys[1])
    [refund] = stack.woo.get(f"/wp-json/wc/v3/orders/{shop_order_id}/refunds", auth=auth).json()
    assert row.shop_refund_id == refund["id"]
    assert {m["key"]: m["value"] for m in refund["meta_data"]}["_orderbridge_return"] == f"[orderbridge bol return {rma}]"
    assert "[orderbridge" not in refund["reason"] and f"return {rma}" in refund["reason"]
    stack.wait_quiet()   # its own order.updated came and went: not the merchant's handling
    assert return_rows(stack)[0].handle_state is None and _handlings(stack) == []




# ---------------------------------------------------------------- 3. Resend covers cancellations, returns and stock
def test_resend_brings_a_cancellation_waiting_on_its_retry_forward(stack):
    from plugin.sync.resend import resend
    stack.connect(settings={"cancel_reason_code": "OUT_OF_STOCK"})
    ext, shop_order_id = stack.order_in_shop()
    stack.pause_webhooks()
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/status", json={"status": "cancelled"}).raise_for_status()
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    apply_shop_order(held(stack), stack.shop_id, stack.ctx.adapters.shop(shop).get_order(shop_order_id), "test")
    order = order_row(stack, ext)
    [row] = cancellation_rows(stack, order.id)
    later = stack.ctx.clock() + timedelta(hours=1)
    # a call whose answer was lost just now: waiting on its backoff, and maybe still running on bol
    with stack.ctx.db.session() as s:
        s.execute(update(models.Cancellation).where(models.Cancellation.id == row.id)
                  .values(state="sending", sent_at=stack.ctx.clock(), next_attempt_at=later, attempts=1))
    message = resend(stack.ctx, stack.shop_id, order.id)
    assert message.startswith("cancelling in ") and "earlier request may still be running" in message
    assert cancellation_rows(stack, order.id)[0].next_attempt_at > stack.ctx.clock()   # not before the horizon
    stack.wait_for(lambda: order_row(stack, ext).status == "cancelled", timeout=30, what="cancelled")
    items = {i["orderItemId"] for i in bol_order(stack, ext)["orderItems"]}
    assert len([c for c in bol_cancellations(stack) if c["order_item_id"] in items]) == 1


def test_resend_handles_a_failed_return_again_once(stack):
    from plugin.sync.resend import resend
    stack.connect()
    ext, shop_order_id = _shipped(stack)
    rma = _register(stack, ext)
    [row] = _recorded(stack, 1)
    def refused_on_bol():                 # bol refused the handling (nothing was handled there)
        with stack.ctx.db.session() as s:  # once no job holds the row (a webhook's hint may run it)
            return s.execute(update(models.Return).where(
                models.Return.id == row.id, models.Return.lease_until.is_(None)).values(
                handle_state="failed", handling_result="RETURN_RECEIVED", quantity_returned=1, sent_at=None,
                last_error="FAILURE: try again")).rowcount == 1
    stack.wait_for(refused_on_bol, what="the return's row free")
    assert resend(stack.ctx, stack.shop_id, row.order_id).startswith(f"handling return {rma} on the marketplace again")
    stack.wait_for(lambda: return_rows(stack)[0].handle_state == "success", timeout=30, what="handled")
    assert [h["rma_id"] for h in _handlings(stack)] == [rma]
    from plugin.sync.errors import ActionRefused
    with pytest.raises(ActionRefused):
        resend(stack.ctx, stack.shop_id, row.order_id)     # nothing left: never a second handling


def test_the_stock_tab_resends_a_product_in_error(stack):
    from tests.e2e.merchant_browser import Browser
    from tests.e2e.sandbox_helpers import links, no_reconcile, offer_amounts, set_shop_stock, stock_rows
    stack.connect(settings={"stock_sync": True, "stock_match_by": "ean"})
    no_reconcile(stack)
    browser = Browser()
    try:
        browser.install(stack.app_url, stack.woo_url)
        [product] = add_products(stack, [{"sku": "SKU-E", "ean": ean(51), "stock": 4}])
        add_offers(stack, [{"ean": ean(51), "reference": "SKU-E", "stock": 0}])
        set_shop_stock(stack, product["id"], 6)
        stack.wait_for(lambda: (link := links(stack).get(product["id"])) and link.stock_status == "sent", what="sent")
        link = links(stack)[product["id"]]
        newest = stock_rows(stack)[-1]
        with stack.ctx.db.session() as s:    # the last update ended in Error; the shop moved on meanwhile
            s.execute(update(models.StockUpdate).where(models.StockUpdate.id == newest.id)
                      .values(state="error", last_error="the offer was not found"))
            s.execute(update(models.OfferLink).where(models.OfferLink.id == link.id)
                      .values(stock_status="error", last_error="the offer was not found"))
        stack.pause_webhooks()                # only the Resend sends anything now
        set_shop_stock(stack, product["id"], 2)
        page = browser.get(f"{stack.app_url}/admin/stock?tab=error")
        assert f'id="stock-resend-{link.id}"' in page.text
        # without the form's CSRF token: refused
        assert browser.go("POST", f"{stack.app_url}/admin/stock/{link.id}/resend", data={}).status_code == 403
        answer = browser.post_form(f"{stack.app_url}/admin/stock/{link.id}/resend", page)
        assert answer.status_code in (200, 303) and "sending this product" in answer.text
        assert links(stack)[product["id"]].hold_until is not None        # not before the failed one's horizon
        stack.wait_for(lambda: offer_amounts(stack)[ean(51)] == 2 and links(stack)[product["id"]].stock_status == "sent",
                       timeout=30, what="sent again")
        again = browser.post_form(f"{stack.app_url}/admin/stock/{link.id}/resend",
                                  browser.get(f"{stack.app_url}/admin/stock"))
        assert "nothing to resend" in again.text
    finally:
        browser.close()
