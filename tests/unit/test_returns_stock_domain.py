"""Returns' state machine, refunds as the merchant's handling, and the sellable stock value."""

import pytest

from plugin.domain import (
    DomainError,
    IllegalTransition,
    RefundSeen,
    Return,
    ReturnState,
    quantity_refunded,
    sellable,
)


def test_a_return_is_handled_once_with_a_result_and_a_quantity():
    ret = Return("RMA1", quantity=2)
    assert ret.state is ReturnState.REGISTERED
    ret.handle("RETURN_RECEIVED", 1)
    assert (ret.state, ret.handling_result, ret.quantity_returned) == (ReturnState.HANDLED, "RETURN_RECEIVED", 1)
    with pytest.raises(IllegalTransition):
        ret.handle("RETURN_RECEIVED", 1)


@pytest.mark.parametrize("result, qty", [("", 1), ("RETURN_RECEIVED", 3), ("RETURN_RECEIVED", -1)])
def test_a_handling_needs_a_result_and_a_quantity_within_the_return(result, qty):
    with pytest.raises(DomainError):
        Return("RMA1", quantity=2).handle(result, qty)


def test_only_the_merchants_refunds_count_and_never_more_than_returned():
    ours = RefundSeen(1, True, {10: 2})
    theirs = RefundSeen(2, False, {10: -1, 11: 5})
    assert quantity_refunded([ours], 10, 2) == 0
    assert quantity_refunded([ours, theirs], 10, 2) == 1
    assert quantity_refunded([theirs, RefundSeen(3, False, {10: 4})], 10, 2) == 2
    assert quantity_refunded([theirs], 12, 2) == 0


@pytest.mark.parametrize("stock, reserved, buffer, expected", [
    (10, 0, 0, 10), (10, 3, 0, 7), (10, 3, 2, 5), (2, 3, 0, 0), (5, 0, 9, 0), (None, 1, 1, None), (0, 0, 0, 0),
])
def test_sellable_is_shop_stock_minus_reserved_minus_buffer_never_below_zero(stock, reserved, buffer, expected):
    assert sellable(stock, reserved, buffer) == expected
