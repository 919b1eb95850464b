"""Every transition of the order status machine, and the ones that must be refused."""

from datetime import UTC, datetime, timedelta

import pytest

from plugin.domain import DomainError, IllegalTransition, Order, OrderStatus, ShopView
from plugin.domain.order import ALLOWED

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
S = OrderStatus


def test_completed_without_tracking_waits():
    order = Order()
    out = order.apply_shop_view(ShopView(completed=True), NOW)
    assert out.status is S.WAITING and not out.push_shipment
    assert order.waiting_since == NOW


def test_completed_with_tracking_ships_and_asks_for_a_push():
    order = Order()
    out = order.apply_shop_view(ShopView(completed=True, tracking_number="3SABC", tracking_provider="PostNL"), NOW)
    assert out.status is S.SHIPPED and out.push_shipment
    assert (order.tracking_number, order.tracking_provider) == ("3SABC", "PostNL")


def test_tracking_added_later_moves_waiting_to_shipped():
    order = Order()
    order.apply_shop_view(ShopView(completed=True), NOW)
    out = order.apply_shop_view(ShopView(completed=True, tracking_number="X1"), NOW + timedelta(minutes=5))
    assert out.status is S.SHIPPED and out.push_shipment


def test_not_completed_is_no_change():
    order = Order()
    assert order.apply_shop_view(ShopView(completed=False), NOW).status is None
    assert order.status is S.NOT_SHIPPED


def test_repeated_and_stale_views_never_move_backwards():
    order = Order()
    order.apply_shop_view(ShopView(completed=True, tracking_number="X1"), NOW)
    assert order.apply_shop_view(ShopView(completed=True, tracking_number="X1"), NOW).status is None
    assert order.apply_shop_view(ShopView(completed=False), NOW).status is None
    assert order.apply_shop_view(ShopView(completed=True), NOW).status is None
    assert order.status is S.SHIPPED


def test_waiting_repeated_keeps_the_first_waiting_time():
    order = Order()
    order.apply_shop_view(ShopView(completed=True), NOW)
    order.apply_shop_view(ShopView(completed=True), NOW + timedelta(hours=1))
    assert order.waiting_since == NOW


def test_grace_turns_waiting_into_shipped_without_tracking():
    order = Order()
    order.apply_shop_view(ShopView(completed=True), NOW)
    grace = timedelta(hours=3)
    assert order.grace_expired(NOW + grace - timedelta(seconds=1), grace).status is None
    out = order.grace_expired(NOW + grace, grace)
    assert out.status is S.SHIPPED and out.push_shipment and order.tracking_number is None
    assert "3 h" in out.reason


def test_grace_ignores_orders_not_waiting():
    order = Order()
    assert order.grace_expired(NOW, timedelta(0)).status is None


def test_cancel_in_shop_is_pending_until_the_marketplace_confirms():
    order = Order()
    out = order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    assert out.status is S.PENDING_CANCELLATION
    assert order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW).status is None
    assert order.cancellation_confirmed((), "marketplace confirmed").status is S.CANCELLED
    with pytest.raises(IllegalTransition):
        order.cancel("again")


def test_error_remembers_where_it_came_from_and_resend_returns_there():
    order = Order()
    order.apply_shop_view(ShopView(completed=True, tracking_number="X"), NOW)
    order.fail("marketplace refused: unknown transporter")
    assert order.status is S.ERROR and order.error_from is S.SHIPPED
    out = order.resend()
    assert out.status is S.SHIPPED and out.push_shipment and order.error is None


def test_resend_of_creation_error_returns_to_not_shipped():
    order = Order()
    order.fail("shop refused the order")
    out = order.resend()
    assert out.status is S.NOT_SHIPPED and not out.push_shipment


def test_resend_only_from_error():
    with pytest.raises(IllegalTransition):
        Order().resend()


def test_error_ignores_shop_views_until_resend():
    order = Order()
    order.fail("boom")
    assert order.apply_shop_view(ShopView(completed=True, tracking_number="X"), NOW).status is None


def test_fail_twice_keeps_origin():
    order = Order()
    order.fail("one")
    order.fail("two")
    assert order.error_from is S.NOT_SHIPPED and order.error == "two"


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_transition_table_is_enforced(source, target):
    order = Order(status=source)
    if target in ALLOWED[source]:
        order._move(target, "test")
        assert order.status is target
    else:
        with pytest.raises(IllegalTransition):
            order._move(target, "test")


def test_shipped_and_cancelled_are_final_except_error_and_manual():
    assert ALLOWED[S.SHIPPED] == {S.ERROR, S.MANUAL}
    assert ALLOWED[S.CANCELLED] == set()


# ---------------------------------------------------------------- handled manually
def _in(status: OrderStatus) -> Order:
    order = Order()
    if status is S.WAITING:
        order.apply_shop_view(ShopView(completed=True), NOW)
    elif status is S.SHIPPED:
        order.apply_shop_view(ShopView(completed=True, tracking_number="X1"), NOW)
    elif status is S.ERROR:
        order.fail("shop refused the order")
    elif status is S.CANCELLED:
        order.cancel("cancelled in the shop")
    elif status is S.PENDING_CANCELLATION:
        order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    assert order.status is status
    return order


def test_manual_is_reachable_from_exactly_the_open_and_error_statuses():
    assert {s for s in S if S.MANUAL in ALLOWED[s]} == {S.NOT_SHIPPED, S.WAITING, S.SHIPPED,
                                                       S.PENDING_CANCELLATION, S.ERROR}


@pytest.mark.parametrize("status", [S.NOT_SHIPPED, S.WAITING, S.SHIPPED, S.PENDING_CANCELLATION, S.ERROR])
def test_handle_manually_keeps_the_reason(status):
    order = _in(status)
    out = order.handle_manually("  shipped by hand with a courier  ")
    assert out.status is S.MANUAL and not out.push_shipment
    assert order.status is S.MANUAL and order.manual_reason == "shipped by hand with a courier"
    assert order.error is None and order.error_from is None
    assert order.history[-1] == (status, S.MANUAL, "handled manually: shipped by hand with a courier")


def test_a_cancelled_order_cannot_be_handled_manually():
    order = _in(S.CANCELLED)
    with pytest.raises(IllegalTransition):
        order.handle_manually("too late")
    assert order.status is S.CANCELLED and order.manual_reason is None


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_handle_manually_needs_a_reason(reason):
    order = Order()
    with pytest.raises(DomainError):
        order.handle_manually(reason)
    assert order.status is S.NOT_SHIPPED


def test_manual_is_final():
    assert ALLOWED[S.MANUAL] == set()
    order = _in(S.NOT_SHIPPED)
    order.handle_manually("customer picked it up")
    for view in (ShopView(completed=True), ShopView(completed=True, tracking_number="X9"),
                 ShopView(completed=False, cancelled=True)):
        assert order.apply_shop_view(view, NOW).status is None
    assert order.grace_expired(NOW + timedelta(days=30), timedelta(0)).status is None
    assert order.fail("late failure of ours").status is None    # no error of ours applies to it
    with pytest.raises(IllegalTransition):
        order.resend()
    with pytest.raises(IllegalTransition):
        order.cancel("cancelled")
    with pytest.raises(IllegalTransition):
        order.handle_manually("again")
    assert order.status is S.MANUAL and order.error is None and order.tracking_number is None
