"""The real WooCommerceShop against the WooCommerce sandbox: order notes are found again by their
marker (GET /orders/<id>/notes), so a note whose answer was lost is not written twice; refund
records keep our marker in their meta_data (WooCommerce v3 refunds are read/write meta_data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.errors import NotFound, Transient
from plugin.sync.ports import RefundLine
from tests.contract.test_woocommerce_refunds_contract import notes, order_in_shop

MARK = "[orderbridge bol return 31234567]"


def test_a_note_is_found_by_its_marker(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    assert woo_shop.find_note(order_id, MARK) is None
    note_id = woo_shop.add_note(order_id, f"bol return 31234567: 1 x Koffiemolen returned. {MARK}")
    assert woo_shop.find_note(order_id, MARK) == note_id
    assert woo_shop.find_note(order_id, "[orderbridge bol return 999]") is None
    assert note_id in [n["id"] for n in woo_shop.list_notes(order_id)]


def test_a_note_whose_answer_was_lost_is_found_not_written_again(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    woo_sandbox.faults(note_fail_after_commit_next=1)
    with pytest.raises(Transient):
        woo_shop.add_note(order_id, f"returned {MARK}")
    found = woo_shop.find_note(order_id, MARK)
    assert found is not None
    assert len([n for n in notes(woo_sandbox, order_id) if MARK in n]) == 1


def test_notes_of_an_unknown_order_are_not_found(woo_shop):
    with pytest.raises(NotFound):
        woo_shop.find_note(987654, MARK)


def test_a_refund_record_keeps_our_marker_in_meta(woo_sandbox, woo_shop, catalog):
    order_id = order_in_shop(woo_shop)
    line = woo_shop.order_lines(order_id)[0]
    refund = woo_shop.create_refund(order_id, (RefundLine(line.id, 1, Decimal("24.95")),), Decimal("24.95"),
                                    "bol return 31234567: 1 x Koffiemolen returned", marker=MARK)
    assert refund.marker == MARK and MARK not in refund.reason
    [listed] = woo_shop.list_refunds(order_id)
    assert (listed.id, listed.marker) == (refund.id, MARK)
    # the merchant's own refund carries none
    merchant = woo_shop.create_refund(order_id, (), Decimal("5.00"), "goodwill")
    assert merchant.marker is None and merchant.lines == ()
