"""Order lines' own state, cancellations both ways (whole and partial), and the buyer's request on
a line that has already left."""

from datetime import UTC, datetime

import pytest

from plugin.domain import Line, LineState, Order, OrderStatus, ShopView

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
S = OrderStatus


def _order(status=S.NOT_SHIPPED, **kw) -> Order:
    return Order(status=status, lines=[Line("A", 2), Line("B", 1), Line("C", 3)], **kw)


def test_line_state_follows_its_quantities():
    line = Line("A", 3)
    assert (line.open, line.state) == (3, LineState.OPEN)
    line.shipped = 1
    line.cancelled = 2
    assert (line.open, line.state) == (0, LineState.SHIPPED)
    assert Line("B", 1, cancelled=1).state is LineState.CANCELLED


def test_merchant_cancels_in_the_shop_every_open_line_goes_to_the_marketplace():
    order = _order()
    out = order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    assert out.status is S.PENDING_CANCELLATION and out.cancel_lines == ("A", "B", "C")
    assert all(line.cancelling for line in order.lines)
    assert order.cancellation_confirmed(("A", "B", "C"), "bol confirmed").status is S.CANCELLED
    assert [line.cancelled for line in order.lines] == [2, 1, 3] and not any(line.cancelling for line in order.lines)


def test_merchant_cancel_leaves_lines_already_on_their_way_to_the_buyers_cancellation():
    order = _order()
    order.buyer_requests(["B"])
    out = order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    assert out.cancel_lines == ("A", "C")
    # the shop's cancellation confirms first: B is still on its way, the order waits for it
    assert order.cancellation_confirmed(("A", "C"), "bol confirmed").status is None
    assert order.status is S.PENDING_CANCELLATION
    assert order.cancellation_confirmed(("B",), "bol confirmed").status is S.CANCELLED


def test_buyer_asks_for_some_lines_the_order_stays_open():
    order = _order()
    plan = order.buyer_requests(["B"])
    assert plan.cancel == ("B",) and not plan.whole and plan.outcome is None and plan.newly_requested == ("B",)
    assert order.status is S.NOT_SHIPPED and order.open_lines() == ("A", "C")
    assert order.cancellation_confirmed(("B",), "cancelled at the buyer's request").status is None
    assert order.line("B").state is LineState.CANCELLED and order.status is S.NOT_SHIPPED


def test_buyer_asks_for_every_line_pending_cancellation_then_cancelled():
    order = _order()
    plan = order.buyer_requests(["A", "B", "C"])
    assert plan.whole and plan.cancel == ("A", "B", "C")
    assert order.status is S.PENDING_CANCELLATION and plan.outcome.status is S.PENDING_CANCELLATION
    # our own shop cancellation comes back as a shop view: nothing new
    assert order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW).status is None
    assert order.cancellation_confirmed(("A", "B", "C"), "done").status is S.CANCELLED


def test_the_last_open_lines_requested_make_it_whole():
    order = _order()
    order.buyer_requests(["A"])
    order.cancellation_confirmed(("A",), "done")
    plan = order.buyer_requests(["B", "C"])
    assert plan.whole and order.status is S.PENDING_CANCELLATION


def test_a_request_seen_again_is_nothing_new():
    order = _order()
    order.buyer_requests(["A"])
    again = order.buyer_requests(["A"])
    assert again.newly_requested == () and again.cancel == () and again.refused == ()


def test_unknown_lines_are_ignored():
    assert _order().buyer_requests(["nope"]).newly_requested == ()


@pytest.mark.parametrize("status, why", [
    (S.SHIPPED, "already shipped"),
    (S.WAITING, "completed in the shop"),
    (S.MANUAL, "handled manually"),
])
def test_a_request_after_the_parcel_left_is_refused_with_a_reason(status, why):
    order = _order(status)
    plan = order.buyer_requests(["A"])
    assert plan.cancel == () and plan.refused[0][0] == "A" and why in plan.refused[0][1]
    assert order.status is status and order.line("A").cancellation_requested


def test_a_shipped_line_is_refused_an_open_one_cancelled():
    order = _order()
    order.lines_shipped(("A",))
    plan = order.buyer_requests(["A", "B"])
    assert plan.cancel == ("B",) and plan.refused == (("A", "the line is already shipped"),)
    assert not plan.whole     # A was shipped: not a cancelled order


def test_requests_are_remembered_but_not_applied_when_the_setting_is_off():
    order = _order()
    plan = order.buyer_requests(["A", "B", "C"], apply=False)
    assert plan.newly_requested == ("A", "B", "C") and plan.cancel == () and order.status is S.NOT_SHIPPED
    assert all(line.cancellation_requested for line in order.lines)


def test_an_order_in_error_before_it_left_can_be_cancelled_by_the_buyer():
    order = _order()
    order.fail("shop refused the order")
    plan = order.buyer_requests(["A", "B", "C"])
    assert plan.whole and order.status is S.PENDING_CANCELLATION and order.error is None


def test_a_refused_cancellation_is_an_error_and_resend_returns_to_pending_cancellation():
    order = _order()
    order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    out = order.cancellation_failed(("A", "B", "C"), "bol refused: item already shipped")
    assert out.status is S.ERROR and order.error_from is S.PENDING_CANCELLATION
    assert not any(line.cancelling for line in order.lines)
    assert order.resend().status is S.PENDING_CANCELLATION


def test_shipped_lines_count_their_open_quantity_only():
    order = _order()
    order.buyer_requests(["B"])
    order.cancellation_confirmed(("B",), "done")
    order.lines_shipped(("A", "B", "C"))
    assert [(line.shipped, line.cancelled) for line in order.lines] == [(2, 0), (0, 1), (3, 0)]
