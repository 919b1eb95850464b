"""Partial shipments: lines shipped with their own T&T. The domain (line states, the order's
status, cancelled lines never shipped, a tracking entry planned once), WooCommerce's AST
products_list, and bol's shipment body with quantities."""

from datetime import UTC, datetime, timedelta

import pytest

from adapters.bol import mapping as bol_mapping
from adapters.woocommerce.mapping import LINE_ID_KEY, TRACKING_ITEMS_KEY, wc_to_shop_order
from plugin.domain import Line, LineState, Order, OrderStatus, ShopView
from plugin.domain.order import REST, LineTracking
from plugin.sync.ports import ShipmentRequest, TrackedLine

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
S = OrderStatus


def _order(status=S.NOT_SHIPPED) -> Order:
    return Order(status=status, lines=[Line("A", 2), Line("B", 1), Line("C", 3)])


def _lines(number, *items, provider="PostNL") -> LineTracking:
    return LineTracking(number, provider, tuple(items))


# ------------------------------------------------------------------ domain
def test_a_line_bound_entry_ships_its_lines_at_once_and_the_order_keeps_its_status():
    order = _order()
    out = order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    assert out.status is None and order.status is S.NOT_SHIPPED and out.push_shipment
    [plan] = out.shipments
    assert (plan.key, plan.items, plan.tracking_number, plan.tracking_provider) == ("3S1", (("A", 2),), "3S1", "PostNL")
    assert [line.state for line in order.lines] == [LineState.SHIPPING, LineState.OPEN, LineState.OPEN]
    # the same view again (a redelivered webhook) plans nothing
    assert order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW) \
        .shipments == ()


def test_every_line_in_its_own_shipment_makes_the_order_shipped():
    order = _order()
    out = order.apply_shop_view(ShopView(completed=False, line_trackings=(
        _lines("3S1", ("A", None), ("B", None)), _lines("3S2", ("C", None)))), NOW)
    assert out.status is S.SHIPPED and [p.key for p in out.shipments] == ["3S1", "3S2"]
    assert [p.items for p in out.shipments] == [(("A", 2), ("B", 1)), (("C", 3),)]


def test_completion_ships_the_rest_with_the_whole_orders_track_and_trace():
    order = _order()
    order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    out = order.apply_shop_view(ShopView(completed=True, tracking_number="3S9", tracking_provider="DHL",
                                         line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    assert out.status is S.SHIPPED
    [rest] = out.shipments
    assert (rest.key, rest.items, rest.tracking_number) == (REST, (("B", 1), ("C", 3)), "3S9")


def test_completion_without_track_and_trace_waits_then_the_grace_ships_the_rest():
    order = _order()
    order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    out = order.apply_shop_view(ShopView(completed=True, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    assert out.status is S.WAITING and out.shipments == ()
    later = order.grace_expired(NOW + timedelta(hours=3), timedelta(hours=3))
    assert later.status is S.SHIPPED
    [rest] = later.shipments
    assert (rest.key, rest.items, rest.tracking_number) == (REST, (("B", 1), ("C", 3)), None)


def test_a_part_of_a_line_ships_and_the_rest_of_it_goes_with_the_rest():
    order = _order()
    [plan] = order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("C", 2)),)), NOW).shipments
    assert plan.items == (("C", 2),) and order.line("C").unshipped == 1
    assert order.line("C").state is LineState.OPEN   # 1 of 3 still without a shipment
    [rest] = order.apply_shop_view(ShopView(completed=True, tracking_number="3S9"), NOW).shipments
    assert rest.items == (("A", 2), ("B", 1), ("C", 1))


def test_cancelled_lines_are_never_shipped():
    order = _order()
    order.line("B").cancelled = 1
    order.buyer_requests(["C"])                       # a cancellation of C is on its way
    out = order.apply_shop_view(ShopView(completed=False, line_trackings=(
        _lines("3S1", ("A", None), ("B", None), ("C", None)),)), NOW)
    # A is all that is left to ship: every line that is not cancelled has its shipment
    assert out.status is S.SHIPPED and [p.items for p in out.shipments] == [(("A", 2),)]
    assert order.line("B").state is LineState.CANCELLED


def test_rest_leaves_out_cancelled_lines_and_an_entry_of_shipped_lines_plans_nothing():
    order = _order()
    order.line("A").shipped = 2
    order.line("B").cancelled = 1
    assert order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)),
                                 NOW).shipments == ()
    [rest] = order.apply_shop_view(ShopView(completed=True, tracking_number="3S9"), NOW).shipments
    assert rest.items == (("C", 3),)


def test_a_line_being_shipped_is_not_cancelled_by_the_buyer_nor_the_shop():
    order = _order()
    order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    plan = order.buyer_requests(["A", "B"])
    assert plan.cancel == ("B",) and plan.refused[0][0] == "A"
    out = order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    assert out.cancel_lines == ("C",)


def test_rest_cancelled_after_a_partial_shipment_leaves_the_order_shipped():
    order = _order()
    order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)), NOW)
    order.items_shipped((("A", 2),))
    assert order.line("A").state is LineState.SHIPPED and order.line("A").shipping == 0
    order.apply_shop_view(ShopView(completed=False, cancelled=True), NOW)
    out = order.cancellation_confirmed(("B", "C"), "bol confirmed")
    assert out.status is S.SHIPPED and order.status is S.SHIPPED


def test_known_keys_are_never_planned_again():
    order = _order()
    order.shipment_keys = {"3S1", REST}
    assert order.apply_shop_view(ShopView(completed=False, line_trackings=(_lines("3S1", ("A", None)),)),
                                 NOW).shipments == ()
    out = order.apply_shop_view(ShopView(completed=True, tracking_number="3S9"), NOW)
    assert out.status is S.SHIPPED and out.shipments == ()   # the rest exists already


def test_an_order_without_known_lines_still_ships_as_a_whole():
    out = Order().apply_shop_view(ShopView(completed=True, tracking_number="3S9"), NOW)
    assert out.status is S.SHIPPED and out.push_shipment and out.shipments[0].key == REST


# ------------------------------------------------------------------ WooCommerce: AST products_list
def _wc_order(tracking_items) -> dict:
    return {
        "id": 77, "number": "77", "status": "processing",
        "line_items": [
            {"id": 501, "product_id": 10, "variation_id": 0, "quantity": 2,
             "meta_data": [{"key": LINE_ID_KEY, "value": "2012345678"}]},
            {"id": 502, "product_id": 20, "variation_id": 21, "quantity": 1,
             "meta_data": [{"key": LINE_ID_KEY, "value": "2012345679"}]},
            {"id": 503, "product_id": 30, "variation_id": 0, "quantity": 1, "meta_data": []},
        ],
        "meta_data": [{"key": TRACKING_ITEMS_KEY, "value": tracking_items}],
    }


def test_products_list_makes_a_tracking_entry_of_those_lines():
    order = wc_to_shop_order(_wc_order([
        {"tracking_provider": "postnl", "tracking_number": "3S1",
         "products_list": [{"product": "10", "item_id": "501", "qty": "1"}, {"product": 21, "item_id": 502, "qty": 1}]},
        {"tracking_provider": "", "custom_tracking_provider": "DHL", "tracking_number": "JVGL2"},
    ]))
    first, whole = order.tracking
    assert first.line_items == (TrackedLine(501, 1, "2012345678", 10), TrackedLine(502, 1, "2012345679", 21))
    assert (whole.number, whole.provider, whole.line_items) == ("JVGL2", "DHL", ())


def test_products_list_without_item_id_matches_the_product_and_foreign_lines_stay_unresolved():
    order = wc_to_shop_order(_wc_order([
        {"tracking_provider": "postnl", "tracking_number": "3S1",
         "products_list": {"0": {"product": 21, "qty": "1"}, "1": {"product": 30, "item_id": 503, "qty": 1},
                           "2": {"product": 99, "qty": 1}}},
    ]))
    [entry] = order.tracking
    assert [(li.shop_line_id, li.external_line_id) for li in entry.line_items] == [
        (502, "2012345679"), (503, None), (None, None)]


def test_an_empty_products_list_is_the_whole_order_and_entries_of_one_number_merge():
    order = wc_to_shop_order(_wc_order([
        {"tracking_provider": "postnl", "tracking_number": "3S1", "products_list": []},
        {"tracking_provider": "postnl", "tracking_number": "3S2", "products_list": [{"item_id": 501, "qty": 2}]},
        {"tracking_provider": "postnl", "tracking_number": "3S2", "products_list": [{"item_id": 502, "qty": 1}]},
    ]))
    whole, parcel = order.tracking
    assert whole.line_items == ()
    assert [li.shop_line_id for li in parcel.line_items] == [501, 502]


# ------------------------------------------------------------------ bol: a shipment's quantities
def test_bol_body_names_a_quantity_only_for_a_part_of_a_line():
    request = ShipmentRequest("A1", ("11", "12"), "ob-1-3S1", "TNT", "3S1", quantities=(("11", 2),))
    assert bol_mapping.shipment_body(request)["orderItems"] == [{"orderItemId": "11", "quantity": 2},
                                                                {"orderItemId": "12"}]
    with pytest.raises(ValueError):
        bol_mapping.shipment_body(ShipmentRequest("A1", ("11",), "r", quantities=(("13", 1),)))
    with pytest.raises(ValueError):
        bol_mapping.shipment_body(ShipmentRequest("A1", ("11",), "r", quantities=(("11", 0),)))


def test_bol_process_lookup_skips_the_orders_other_shipments():
    payload = {"processStatuses": [
        {"processStatusId": "2", "status": "SUCCESS", "createTimestamp": "2026-11-27T12:00:02+01:00"},
        {"processStatusId": "1", "status": "SUCCESS", "createTimestamp": "2026-11-27T12:00:01+01:00"}]}
    assert bol_mapping.newest_active_process(payload, ("2",)).process_id == "1"
    assert bol_mapping.newest_active_process(payload, ("1", "2")) is None
