"""Returns both ways, end to end on the sandboxes: a return registered on bol is recorded once and
told to the shop (a note, or a refund record that moves no money); the merchant's refund of the
returned line handles it on bol once; lost answers never handle twice."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from plugin.demo.stack import SELLER
from plugin.store import models
from plugin.sync.ports import ReturnHandling
from plugin.sync.returns import poll_returns, push_return
from tests.e2e.sandbox_helpers import bol_order, bol_returns, held, return_rows, set_faults, shop_order

pytestmark = pytest.mark.e2e


def _shipped_order(stack) -> tuple[str, int]:
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id, "PostNL", "3SRETURN0001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", what="shipped")
    return ext, shop_order_id


def _register_return(stack, ext: str, quantity: int = 1) -> str:
    item = bol_order(stack, ext)["orderItems"][0]["orderItemId"]
    response = stack.bol.post("/_sandbox/returns", json={"client_id": SELLER[0], "items": [
        {"order_item_id": item, "quantity": quantity, "main_reason": "Defect"}]})
    response.raise_for_status()
    return response.json()["rma_ids"][0]


def _notes(stack, shop_order_id: int) -> list[str]:
    auth = (stack.woo_state_keys[0], stack.woo_state_keys[1])
    return [n["note"] for n in stack.woo.get(f"/wp-json/wc/v3/orders/{shop_order_id}/notes", auth=auth).json()]


def _refunds(stack, shop_order_id: int) -> list[dict]:
    auth = (stack.woo_state_keys[0], stack.woo_state_keys[1])
    return stack.woo.get(f"/wp-json/wc/v3/orders/{shop_order_id}/refunds", auth=auth).json()


def _merchant_refunds(stack, shop_order_id: int, quantity: int = 1) -> None:
    """wp-admin › Orders › Refund (manually) of the first line."""
    line = shop_order(stack, shop_order_id)["line_items"][0]
    unit = float(line["total"]) / line["quantity"]
    amount = f"{unit * quantity:.2f}"
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/refund", json={
        "amount": amount, "reason": "item came back", "restock_items": True,
        "line_items": [{"id": line["id"], "quantity": quantity, "refund_total": amount}]}).raise_for_status()


def _row(stack, rma: str, **expected):
    def match():
        rows = [r for r in return_rows(stack) if r.rma_id == rma]
        return rows and all(getattr(rows[0], k) == v for k, v in expected.items()) and rows[0]
    return stack.wait_for(match, timeout=30, what=f"return {rma} with {expected}")


def _handlings(stack, rma: str) -> list[dict]:
    return [h for h in bol_returns(stack)["handlings"] if h["rma_id"] == rma]


def test_a_return_is_noted_once_and_the_merchants_refund_handles_it(stack):
    stack.connect(settings={"returns_action": "note", "return_handling_result": "RETURN_RECEIVED"})
    ext, shop_order_id = _shipped_order(stack)
    rma = _register_return(stack, ext)
    stack.ctx.queue.poll_returns(stack.connection_id)
    row = _row(stack, rma, shop_state="done")
    assert row.state == "registered" and row.shop_note_id and row.shop_action == "note" and row.quantity == 1
    assert row.line_id == bol_order(stack, ext)["orderItems"][0]["orderItemId"]
    assert len([n for n in _notes(stack, shop_order_id) if f"return {rma}" in n]) == 1
    # polled again (and again): recorded once, told once
    for _ in range(2):
        poll_returns(stack.ctx, stack.connection_id)
    stack.wait_quiet()
    assert len([r for r in return_rows(stack) if r.rma_id == rma]) == 1
    assert len([n for n in _notes(stack, shop_order_id) if f"return {rma}" in n]) == 1
    # the merchant refunds the returned line in the shop: bol is told, once
    _merchant_refunds(stack, shop_order_id)
    row = _row(stack, rma, state="handled", handle_state="success")
    assert (row.handling_result, row.quantity_returned) == ("RETURN_RECEIVED", 1) and row.merchant_refund_id
    [handling] = _handlings(stack, rma)
    assert handling["body"] == {"handlingResult": "RETURN_RECEIVED", "quantityReturned": 1}
    timeline = stack.timeline(row.order_id)
    assert any(f"return {rma} registered" in m for m in timeline)
    assert any("the merchant refunded 1" in m for m in timeline)
    assert any(f"marketplace confirmed the handling of return {rma}" in m for m in timeline)
    # a later change of the order does not handle it again
    stack.add_tracking(shop_order_id, "PostNL", "3SRETURN0002")
    stack.wait_quiet()
    assert len(_handlings(stack, rma)) == 1


def test_refund_setting_records_a_refund_that_moves_no_money_and_is_not_the_merchants(stack):
    stack.connect(settings={"returns_action": "refund"})
    ext, shop_order_id = _shipped_order(stack)
    rma = _register_return(stack, ext)
    stack.ctx.queue.poll_returns(stack.connection_id)
    row = _row(stack, rma, shop_state="done")
    [refund] = _refunds(stack, shop_order_id)
    assert row.shop_refund_id == refund["id"] and row.shop_action == "refund"
    assert refund["refunded_payment"] is False and f"return {rma}" in refund["reason"]
    assert [(x["quantity"]) for x in refund["line_items"]] == [-1]
    stack.wait_quiet()   # its own order.updated came and went: not mistaken for the merchant's handling
    row = [r for r in return_rows(stack) if r.rma_id == rma][0]
    assert row.handle_state is None and _handlings(stack, rma) == []


def test_the_answer_of_a_return_handling_is_lost(stack):
    stack.connect()
    ext, shop_order_id = _shipped_order(stack)
    rma = _register_return(stack, ext)
    stack.ctx.queue.poll_returns(stack.connection_id)
    _row(stack, rma, shop_state="done")
    set_faults(stack.bol, return_fail_after_commit_next=1)
    _merchant_refunds(stack, shop_order_id)
    row = _row(stack, rma, state="handled", handle_state="success")
    assert len(_handlings(stack, rma)) == 1, _handlings(stack, rma)     # looked up, never sent twice
    assert row.attempts >= 2
    assert any("already handled" in m for m in stack.timeline(row.order_id))


def test_a_worker_killed_after_handling_the_return(stack):
    """The state a killed worker leaves: bol has the handling, our row says `sending`."""
    stack.connect()
    ext, shop_order_id = _shipped_order(stack)
    rma = _register_return(stack, ext)
    poll_returns(held(stack), stack.connection_id)
    [row] = return_rows(stack)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Return).where(models.Return.id == row.id).values(
            shop_state="done", handle_state="sending", handling_result="RETURN_RECEIVED", quantity_returned=1,
            attempts=1))
        conn = s.get(models.Connection, stack.connection_id)
    stack.ctx.adapters.marketplace(conn).handle_return(ReturnHandling(rma, "RETURN_RECEIVED", 1))
    time.sleep(0.5)   # bol settles it
    assert push_return(stack.ctx, row.id) == "success"
    assert len(_handlings(stack, rma)) == 1
    assert [r.state for r in return_rows(stack)] == ["handled"]


def test_a_return_handled_on_bol_directly_is_handled_here_too(stack):
    stack.connect()
    ext, _ = _shipped_order(stack)
    rma = _register_return(stack, ext)
    poll_returns(stack.ctx, stack.connection_id)
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
    stack.ctx.adapters.marketplace(conn).handle_return(ReturnHandling(rma, "EXCHANGE_PRODUCT", 1))
    stack.wait_for(lambda: poll_returns(stack.ctx, stack.connection_id)["handled elsewhere"] == 1,
                   what="handled elsewhere")
    row = _row(stack, rma, state="handled")
    assert (row.handling_result, row.handle_state) == ("EXCHANGE_PRODUCT", None)


def test_returns_are_polled_from_the_heartbeat(stack):
    stack.connect(settings={"returns_poll_seconds": 60})
    ext, _ = _shipped_order(stack)
    rma = _register_return(stack, ext)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(returns_poll_at=None))
    stack.tick()
    _row(stack, rma, shop_state="done")
