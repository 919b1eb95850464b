"""Which return a merchant's refund in the shop handles: refunded quantities are consumed in the
order returns were registered, an amount-only refund handles open returns only when that is
unambiguous, and a return matched earlier keeps its refund."""

from __future__ import annotations

from decimal import Decimal

from plugin.domain import RefundClaimant, allocate_refunds, unit_price
from plugin.sync.ports import RefundLine, ShopOrderLine, ShopRefund

LINES = [ShopOrderLine(101, "L1", 11, 3, Decimal("30.00")), ShopOrderLine(102, "L2", 12, 1, Decimal("12.50")),
         ShopOrderLine(103, None, 13, 1, Decimal("5.00"))]


def refund(refund_id: int, *lines: tuple[int, int], amount: str = "0") -> ShopRefund:
    return ShopRefund(refund_id, Decimal(amount), "",
                      tuple(RefundLine(shop_line, quantity, Decimal("0")) for shop_line, quantity in lines))


def test_refunded_units_go_to_returns_of_their_line_in_registration_order_each_counted_once():
    first, second = RefundClaimant(1, "L1", 2, True), RefundClaimant(2, "L1", 2, True)
    matched, why = allocate_refunds([second, first], [refund(70, (101, 3))], LINES)
    assert matched == {1: (2, 70), 2: (1, 70)} and why is None
    matched, _ = allocate_refunds([first, second], [refund(70, (101, 1)), refund(71, (101, -1))], LINES)
    assert matched == {1: (2, 70)}      # two refunds of one unit each: negative quantities count too


def test_a_refund_of_another_line_or_a_line_not_ours_handles_nothing():
    claimant = RefundClaimant(1, "L2", 1, True)
    assert allocate_refunds([claimant], [refund(70, (101, 1)), refund(71, (103, 1))], LINES) == ({}, None)
    assert allocate_refunds([RefundClaimant(1, "L9", 1, True)], [refund(70, (101, 1))], LINES) == ({}, None)


def test_an_amount_only_refund_handles_the_one_open_return():
    matched, why = allocate_refunds([RefundClaimant(1, "L1", 2, True)], [refund(70, amount="3.00")], LINES)
    assert matched == {1: (2, 70)} and why is None


def test_an_amount_only_refund_handles_several_open_returns_only_when_it_equals_their_value():
    claimants = [RefundClaimant(1, "L1", 1, True), RefundClaimant(2, "L2", 1, True)]
    assert allocate_refunds(claimants, [refund(70, amount="22.50")], LINES) == ({1: (1, 70), 2: (1, 70)}, None)
    matched, why = allocate_refunds(claimants, [refund(70, amount="10.00")], LINES)
    assert matched == {}
    assert "refund #70 of 10.00 has no lines and the order has 2 open returns worth 22.50" in why


def test_a_handled_return_and_one_matched_by_lines_are_not_candidates_of_an_amount_only_refund():
    claimants = [RefundClaimant(1, "L1", 1, True), RefundClaimant(2, "L2", 1, False)]
    matched, why = allocate_refunds(claimants, [refund(70, (101, 1)), refund(71, amount="99.00")], LINES)
    assert matched == {1: (1, 70)} and why is None


def test_a_return_matched_by_an_earlier_job_keeps_its_amount_only_refund():
    claimants = [RefundClaimant(1, "L1", 1, False, refund_id=70), RefundClaimant(2, "L2", 1, True)]
    matched, _ = allocate_refunds(claimants, [refund(70, amount="10.00")], LINES)
    assert matched == {1: (1, 70)}


def test_the_unit_price_is_the_lines_total_over_its_quantity():
    assert unit_price(LINES[0]) == Decimal("10.00")
    assert unit_price(ShopOrderLine(1, "X", None, 0, Decimal("5"))) == Decimal("0")
