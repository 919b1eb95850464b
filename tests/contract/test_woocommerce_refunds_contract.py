"""The real WooCommerceShop against the WooCommerce sandbox: order lines, cancellations, partial
cancellations (a 0.00 refund with restock), notes and refunds, including redeliveries and lost
answers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.errors import NotFound, Rejected, Transient
from adapters.woocommerce import WooClient
from plugin.sync.ports import Address, MarketplaceLine, RefundLine, ShopOrderDraft
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
)

ADDRESS = Address(first_name="Anna", last_name="de Vries", street="Kerkstraat", house_number="12",
                  zip_code="1234 AB", city="Utrecht", country_code="NL", email="anna@example.nl")


def order_in_shop(shop, ref: str = "ob-1") -> int:
    lines = (MarketplaceLine("L-KM", "8712345678901", "Koffiemolen", 2, Decimal("24.95"), sku="KM-1"),
             MarketplaceLine("L-FI", "8712345678918", "Filters", 3, Decimal("3.50"), sku="FI-1"),
             MarketplaceLine("L-SH", "8712345678925", "Shirt red", 1, Decimal("15.00"), sku="SH-RED"))
    draft = ShopOrderDraft(ref=ref, marketplace="bol", external_id=ref.upper(), status="processing",
                           lines=lines, shipping=ADDRESS)
    return shop.create_order(draft).id


def notes(sandbox, order_id: int) -> list[str]:
    with sandbox.state.lock:
        return [n.content for n in sandbox.state.orders[order_id].notes]


def refunds_in(sandbox, order_id: int) -> int:
    with sandbox.state.lock:
        return len(sandbox.state.orders[order_id].refunds)


# ---------------------------------------------------------------------------- order lines
def test_order_lines_carry_our_line_ids_products_and_totals(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    lines = woo_shop.order_lines(order_id)
    assert [(line.external_line_id, line.quantity, line.total) for line in lines] == [
        ("L-KM", 2, Decimal("49.90")), ("L-FI", 3, Decimal("10.50")), ("L-SH", 1, Decimal("15.00"))]
    # A variation line moves the variation's stock: product_id is the variation.
    assert [line.product_id for line in lines] == [catalog["KM-1"]["id"], catalog["FI-1"]["id"], catalog["SH-RED"]["id"]]
    # Creating the paid order took the stock, as wc_reduce_stock_levels does.
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 8
    assert woo_sandbox.stock_of(catalog["SH-RED"]["id"]) == 3


def test_order_lines_of_an_unknown_order_is_not_found(woo_shop):
    with pytest.raises(NotFound):
        woo_shop.order_lines(999_999)


# ---------------------------------------------------------------------------- partial cancellation
def test_remove_lines_gives_their_stock_back_with_a_zero_refund_and_a_note(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    order = woo_shop.remove_lines(order_id, ("L-KM", "L-SH"), "bol.com: buyer cancelled L-KM, L-SH")

    assert order.status == "processing"              # a partial cancellation: the order goes on
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert woo_sandbox.stock_of(catalog["SH-RED"]["id"]) == 4
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 47     # untouched line keeps its stock
    [refund] = woo_shop.list_refunds(order_id)
    assert refund.amount == Decimal("0.00") and refund.reason == "bol.com: buyer cancelled L-KM, L-SH"
    lines = {line.external_line_id: line.id for line in woo_shop.order_lines(order_id)}
    assert sorted((r.shop_line_id, r.quantity, r.amount) for r in refund.lines) == sorted(
        [(lines["L-KM"], 2, Decimal("0.00")), (lines["L-SH"], 1, Decimal("0.00"))])
    assert notes(woo_sandbox, order_id).count("bol.com: buyer cancelled L-KM, L-SH") == 1
    # WooCommerce wrote its own restock notes too.
    assert any(n.startswith(f"Item #{catalog['KM-1']['id']} stock increased from 8 to 10") for n in notes(woo_sandbox, order_id))
    # No money moved and the order's total is what the buyer paid.
    stored = woo_sandbox.control("GET", "orders").json()[0]
    assert stored["total"] == "75.40" and stored["refunds"][0]["total"] == "-0.00"


def test_remove_lines_twice_refunds_and_notes_once(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    again = woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")      # a redelivered job

    assert again.status == "processing"
    assert refunds_in(woo_sandbox, order_id) == 1
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert notes(woo_sandbox, order_id).count("cancelled L-KM") == 1


def test_remove_lines_refunds_only_what_is_not_refunded_yet(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    fi_line = next(line for line in woo_shop.order_lines(order_id) if line.external_line_id == "L-FI")
    # The merchant already refunded (and restocked) one of the three filters in wp-admin.
    woo_sandbox.control("POST", f"orders/{order_id}/refund", {
        "amount": "3.50", "reason": "broken", "line_items": [{"id": fi_line.id, "quantity": 1, "refund_total": "3.50"}]})
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 48

    woo_shop.remove_lines(order_id, ("L-FI",), "cancelled L-FI")
    refunds = woo_shop.list_refunds(order_id)
    assert [sum(r.quantity for r in refund.lines) for refund in refunds] == [1, 2]
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 50


def test_remove_lines_with_unknown_line_ids_changes_nothing_but_the_note(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_shop.remove_lines(order_id, ("L-NOT-OURS",), "nothing to take out")
    assert refunds_in(woo_sandbox, order_id) == 0
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 8
    assert "nothing to take out" in notes(woo_sandbox, order_id)


def test_remove_lines_lost_answer_is_transient_and_the_retry_does_not_refund_twice(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_sandbox.faults(refund_fail_after_commit_next=1)
    with pytest.raises(Transient):
        woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    # The refund committed (stock is back) but we never saw the answer, nor wrote the note.
    assert refunds_in(woo_sandbox, order_id) == 1
    assert "cancelled L-KM" not in notes(woo_sandbox, order_id)

    woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    assert refunds_in(woo_sandbox, order_id) == 1
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert notes(woo_sandbox, order_id).count("cancelled L-KM") == 1


def test_lost_note_answer_is_transient_and_the_retry_adds_no_second_note(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_sandbox.faults(note_fail_after_commit_next=1)
    with pytest.raises(Transient):
        woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    assert refunds_in(woo_sandbox, order_id) == 1
    assert notes(woo_sandbox, order_id).count("cancelled L-KM") == 1


def test_a_line_removed_through_put_quantity_zero_keeps_its_stock(woo_sandbox, woo_shop, catalog):
    """Why remove_lines refunds instead: WooCommerce's REST remove_item() gives nothing back."""
    order_id = order_in_shop(woo_shop)
    km = next(line for line in woo_shop.order_lines(order_id) if line.external_line_id == "L-KM")
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    client.put(f"orders/{order_id}", {"line_items": [{"id": km.id, "quantity": 0}]})
    assert [line.external_line_id for line in woo_shop.order_lines(order_id)] == ["L-FI", "L-SH"]
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 8
    woo_shop.cancel_order(order_id, "cancelled")          # and a cancellation cannot find it either
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 8
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 50


# ---------------------------------------------------------------------------- cancellation
def test_cancel_order_gives_the_stock_back_and_notes_it(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    order = woo_shop.cancel_order(order_id, "bol.com: cancelled by the buyer")
    assert order.status == "cancelled"
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 50
    assert woo_sandbox.stock_of(catalog["SH-RED"]["id"]) == 4
    assert "bol.com: cancelled by the buyer" in notes(woo_sandbox, order_id)
    assert "Order status changed from Processing to Cancelled." in notes(woo_sandbox, order_id)


def test_cancel_twice_is_one_cancellation(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_shop.cancel_order(order_id, "cancelled")
    with woo_sandbox.state.lock:
        modified = woo_sandbox.state.orders[order_id].date_modified
    woo_sandbox.clock.advance(5)
    again = woo_shop.cancel_order(order_id, "cancelled")
    assert again.status == "cancelled"
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert notes(woo_sandbox, order_id).count("cancelled") == 1
    with woo_sandbox.state.lock:
        assert woo_sandbox.state.orders[order_id].date_modified == modified     # not saved again


def test_cancel_lost_answer_then_retry(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_sandbox.faults(update_fail_after_commit_next=1)
    with pytest.raises(Transient):
        woo_shop.cancel_order(order_id, "cancelled")
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10          # it did commit
    order = woo_shop.cancel_order(order_id, "cancelled")
    assert order.status == "cancelled"
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert notes(woo_sandbox, order_id).count("cancelled") == 1


def test_cancel_after_a_partial_cancellation_gives_back_only_what_is_left(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    woo_shop.cancel_order(order_id, "cancelled the rest")
    # _reduced_stock went to 0 on the refunded line: wc_increase_stock_levels skips it.
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 50
    # And a partial cancellation of a cancelled order does nothing.
    woo_shop.remove_lines(order_id, ("L-FI",), "too late")
    assert refunds_in(woo_sandbox, order_id) == 1
    assert woo_sandbox.stock_of(catalog["FI-1"]["id"]) == 50


def test_cancellation_and_refunds_are_one_order_updated_each(woo_sandbox, woo_shop, catalog, receiver):
    order_id = order_in_shop(woo_shop)
    woo_shop.ensure_webhooks(receiver.url, "whsec_1", ("order.updated", "product.updated"))
    assert woo_sandbox.state.wait_for_deliveries()
    receiver.requests.clear()

    woo_shop.remove_lines(order_id, ("L-KM",), "cancelled L-KM")
    assert woo_sandbox.state.wait_for_deliveries()
    topics = sorted((r.headers["X-Wc-Webhook-Topic"], json.loads(r.body)["id"]) for r in receiver.signed())
    assert topics == sorted([("order.updated", order_id), ("product.updated", catalog["KM-1"]["id"])])
    product = json.loads(next(r.body for r in receiver.signed() if r.headers["X-Wc-Webhook-Topic"] == "product.updated"))
    assert product["stock_quantity"] == 10


# ---------------------------------------------------------------------------- notes
def test_add_note_is_a_private_system_note(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    note_id = woo_shop.add_note(order_id, "Return registered on bol.com (RMA 31234567)")
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    listed = client.get(f"orders/{order_id}/notes").data
    assert listed[0]["id"] == note_id                       # newest first
    assert listed[0]["note"] == "Return registered on bol.com (RMA 31234567)"
    assert listed[0]["customer_note"] is False and listed[0]["author"] == "WooCommerce"
    assert client.get(f"orders/{order_id}/notes", {"type": "customer"}).data == []
    with pytest.raises(NotFound):
        woo_shop.add_note(999_999, "nope")


# ---------------------------------------------------------------------------- refunds
def test_create_refund_is_a_record_and_moves_no_money_nor_stock(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    km = next(line for line in woo_shop.order_lines(order_id) if line.external_line_id == "L-KM")
    refund = woo_shop.create_refund(order_id, (RefundLine(km.id, 1, Decimal("24.95")),), Decimal("24.95"),
                                    "bol.com return RMA 1")
    assert refund.amount == Decimal("24.95") and refund.reason == "bol.com return RMA 1"
    assert refund.lines == (RefundLine(km.id, 1, Decimal("24.95")),)
    assert woo_shop.get_order(order_id).status == "processing"         # partially refunded
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 8             # restock is off by default
    with woo_sandbox.state.lock:
        assert woo_sandbox.state.orders[order_id].refunds[0].refunded_payment is False


def test_create_refund_with_restock_and_full_refund_sets_refunded(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    lines = woo_shop.order_lines(order_id)
    woo_shop.create_refund(order_id, tuple(RefundLine(line.id, line.quantity, line.total) for line in lines),
                           Decimal("75.40"), "everything came back", restock=True)
    assert woo_shop.get_order(order_id).status == "refunded"
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 10
    assert woo_sandbox.stock_of(catalog["SH-RED"]["id"]) == 4


def test_create_refund_above_the_remaining_amount_is_rejected(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    with pytest.raises(Rejected) as caught:
        woo_shop.create_refund(order_id, (), Decimal("100.00"), "too much")
    assert caught.value.status == 500 and "Invalid refund amount." in str(caught.value)
    assert refunds_in(woo_sandbox, order_id) == 0


def test_create_refund_lost_answer_is_transient_and_found_by_its_reason(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_sandbox.faults(refund_fail_after_commit_next=1)
    with pytest.raises(Transient):
        woo_shop.create_refund(order_id, (), Decimal("5.00"), "bol.com return RMA 77")
    [refund] = woo_shop.list_refunds(order_id)
    assert refund.reason == "bol.com return RMA 77" and refund.amount == Decimal("5.00")


def test_list_refunds_pages_through_every_refund(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    for n in range(12):
        woo_shop.create_refund(order_id, (), Decimal("0.10"), f"r{n}")
    assert [r.reason for r in woo_shop.list_refunds(order_id)] == [f"r{n}" for n in range(12)]
    assert woo_shop.list_refunds(999_999) == []


def test_refund_api_defaults_are_woocommerces(woo_sandbox, woo_shop, catalog):
    """api_refund and api_restock default to true; `restock_items` is not a REST parameter."""
    order_id = order_in_shop(woo_shop)
    km = next(line for line in woo_shop.order_lines(order_id) if line.external_line_id == "L-KM")
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    with pytest.raises(Transient) as caught:             # a 500 from the gateway step
        client.post(f"orders/{order_id}/refunds", {"amount": "0.00", "line_items": [{"id": km.id, "quantity": 1}]})
    assert caught.value.wc_code == "woocommerce_rest_cannot_create_order_refund"
    assert "payment gateway" in str(caught.value) and refunds_in(woo_sandbox, order_id) == 0

    refund = client.post(f"orders/{order_id}/refunds", {
        "amount": "0.00", "api_refund": False, "restock_items": False,
        "line_items": [{"id": km.id, "quantity": 1, "refund_total": 0}]}).data
    assert refund["line_items"][0]["quantity"] == -1
    assert refund["line_items"][0]["meta_data"][0]["key"] == "_refunded_item_id"
    assert woo_sandbox.stock_of(catalog["KM-1"]["id"]) == 9     # restocked all the same

    with pytest.raises(Rejected):                        # amount is a string in the schema
        client.post(f"orders/{order_id}/refunds", {"amount": 1, "api_refund": False})
    with pytest.raises(NotFound):
        client.post("orders/999999/refunds", {"amount": "1.00", "api_refund": False})
