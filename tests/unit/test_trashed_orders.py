"""An order moved to the Trash in the shop (a flag on an error), and what the grace shipment's
timeline line says about the wait."""

from datetime import UTC, datetime, timedelta

from plugin.domain import Line, Order, OrderStatus, ShopView
from plugin.sync.apply_shop_change import shop_view
from plugin.sync.ports import ShopOrder

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
S = OrderStatus


def _waiting() -> Order:
    order = Order(lines=[Line("L1", 1)])
    order.apply_shop_view(ShopView(completed=True), NOW)
    return order


def test_the_grace_shipment_says_how_long_the_order_really_waited():
    order = _waiting()
    out = order.grace_expired(NOW + timedelta(minutes=13, seconds=30), timedelta(seconds=36))
    assert out.status is S.SHIPPED
    assert "after 13 min 30 s (grace 36 s)" in out.reason
    assert "after 36 s" not in out.reason


def test_the_wait_reads_as_hours_minutes_and_seconds():
    order = _waiting()
    out = order.grace_expired(NOW + timedelta(hours=3, minutes=5), timedelta(hours=3))
    assert "after 3 h 5 min (grace 3 h)" in out.reason


def test_a_waiting_order_trashed_in_the_shop_is_flagged_not_shipped():
    order = _waiting()
    out = order.apply_shop_view(ShopView(completed=False, trashed=True), NOW)
    assert out.status is S.ERROR and not out.shipments and not out.push_shipment
    assert order.trashed and order.error_from is S.WAITING and "Trash" in order.error
    # the grace period no longer ships it, and seeing the Trash again changes nothing
    assert order.grace_expired(NOW + timedelta(days=1), timedelta(hours=3)).status is None
    assert order.apply_shop_view(ShopView(completed=False, trashed=True), NOW).status is None


def test_restored_from_the_trash_with_tracking_it_ships_with_it():
    order = _waiting()
    order.trashed_in_shop()
    out = order.apply_shop_view(ShopView(completed=True, tracking_number="3SREST", tracking_provider="PostNL"), NOW)
    assert out.status is S.SHIPPED and out.shipments[0].tracking_number == "3SREST"
    assert order.error is None and not order.trashed


def test_restored_from_the_trash_still_without_tracking_it_waits_again_as_it_did():
    order = _waiting()
    order.trashed_in_shop()
    out = order.apply_shop_view(ShopView(completed=True), NOW + timedelta(hours=1))
    assert out.status is S.WAITING and "restored" in out.reason
    assert order.waiting_since == NOW   # its grace counts from the first completion
    assert order.grace_expired(NOW + timedelta(hours=3), timedelta(hours=3)).status is S.SHIPPED


def test_an_order_not_shipped_yet_trashed_and_restored_goes_back_to_not_shipped():
    order = Order(lines=[Line("L1", 1)])
    assert order.trashed_in_shop().status is S.ERROR and order.error_from is S.NOT_SHIPPED
    out = order.apply_shop_view(ShopView(completed=False), NOW)
    assert out.status is S.NOT_SHIPPED and not order.trashed


def test_an_order_that_left_is_not_the_trashs_business():
    order = Order(lines=[Line("L1", 1)])
    order.apply_shop_view(ShopView(completed=True, tracking_number="3S1"), NOW)
    assert order.trashed_in_shop().status is None and order.status is S.SHIPPED
    other = Order(status=S.ERROR, error_from=S.SHIPPED, error="bol refused it")
    assert other.trashed_in_shop().status is None and not other.trashed


def test_the_merchants_resend_ships_a_trashed_waiting_order_anyway():
    order = _waiting()
    order.trashed_in_shop()
    out = order.ship_trashed_anyway(NOW)
    assert out.status is S.SHIPPED and out.shipments and order.tracking_number is None


def test_shop_statuses_trash_and_refunded_are_read_as_such():
    def view(status):
        return shop_view(ShopOrder(id=1, number="1", status=status, ref="r", date_created=None,
                                   date_modified=None), {})
    assert view("trash").trashed and not view("trash").completed
    assert view("refunded").cancelled and view("cancelled").cancelled
    assert not view("completed").trashed
