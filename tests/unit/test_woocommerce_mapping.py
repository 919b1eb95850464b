from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.woocommerce.mapping import (
    UnexpectedPayload,
    address_line,
    draft_to_wc,
    format_wc_datetime,
    note_to_wc,
    our_line_ids,
    parse_wc_datetime,
    refund_to_wc,
    refunded_quantities,
    removal_to_wc,
    tracked_lines,
    tracking_from_wc,
    wc_to_shop_order,
    wc_to_shop_order_lines,
    wc_to_shop_product,
    wc_to_shop_refund,
)
from plugin.sync.ports import (
    Address,
    MarketplaceLine,
    RefundLine,
    ShopOrderDraft,
    ShopOrderLine,
    ShopProduct,
    ShopRefund,
    Tracking,
)

SHIPPING = Address(first_name="Jan", last_name="Jansen", company="", street="Dorpsweg", house_number="7",
                   house_number_ext="bis", extra="2e verdieping", zip_code="9999 ZZ", city="Ergens",
                   country_code="nl", email="jan@example.nl", phone="+31612345678")
BILLING = Address(first_name="Piet", last_name="Pietersen", street="Laan", house_number="1",
                  zip_code="1000 AA", city="Amsterdam", country_code="NL", email="piet@example.nl")


def make_draft(**changes) -> ShopOrderDraft:
    values = dict(ref="ob-42", marketplace="bol", external_id="A1B2C3", status="processing",
                  lines=(MarketplaceLine("L1", "8712345678901", "Mok", 3, Decimal("4.99"), sku="MOK-01"),
                         MarketplaceLine("L2", "8712345678918", "Schotel", 1, Decimal("2.5"))),
                  shipping=SHIPPING, note="Graag na 17:00")
    values.update(changes)
    return ShopOrderDraft(**values)


def test_draft_to_wc_order():
    body = draft_to_wc(make_draft())
    assert body["status"] == "processing" and body["set_paid"] is True
    assert body["created_via"] == "orderbridge" and body["customer_note"] == "Graag na 17:00"
    meta = {m["key"]: m["value"] for m in body["meta_data"]}
    assert json.loads(meta.pop("_orderbridge_lines")) == [
        {"line": "L1", "product": None, "sku": "MOK-01", "quantity": 3},
        {"line": "L2", "product": None, "sku": "8712345678918", "quantity": 1}]
    assert meta == {"_orderbridge_ref": "ob-42", "_orderbridge_marketplace": "bol", "_orderbridge_external_id": "A1B2C3"}
    # The shop's order screen says "Payment via <payment_method>" when no gateway has that id
    assert body["payment_method"] == body["payment_method_title"] == "bol.com"
    assert body["shipping"] == {
        "first_name": "Jan", "last_name": "Jansen", "company": "", "address_1": "Dorpsweg 7 bis",
        "address_2": "2e verdieping", "city": "Ergens", "state": "", "postcode": "9999 ZZ",
        "country": "NL", "phone": "+31612345678"}
    # Without a billing address the shipping address bills, with its email.
    assert body["billing"]["address_1"] == "Dorpsweg 7 bis" and body["billing"]["email"] == "jan@example.nl"


def test_billing_address_when_given():
    body = draft_to_wc(make_draft(billing=BILLING))
    assert body["billing"]["first_name"] == "Piet" and body["billing"]["address_1"] == "Laan 1"
    assert body["billing"]["email"] == "piet@example.nl"
    assert body["shipping"]["first_name"] == "Jan" and "email" not in body["shipping"]


def test_line_items_match_by_sku_else_ean_and_carry_string_totals():
    first, second = draft_to_wc(make_draft())["line_items"]
    assert first == {"sku": "MOK-01", "name": "Mok", "quantity": 3, "subtotal": "14.97", "total": "14.97"}
    # WooCommerce refuses a new line without sku/product_id; an unknown sku is stored as a plain line.
    assert second["sku"] == "8712345678918" and second["total"] == "2.50" and second["name"] == "Schotel"
    no_ids = draft_to_wc(make_draft(lines=(MarketplaceLine("L9", "", "Los", 1, Decimal("1")),)))["line_items"][0]
    assert no_ids["sku"] == "L9"


def test_found_products_are_named_by_id_and_no_line_meta_of_ours_is_sent():
    """A line whose product was found names it by id and sends no sku (WooCommerce looks an sku
    up first and would store product 0 for an unknown one); a variation by variation_id with
    its parent as product_id. No line carries meta: WooCommerce's order screen shows every line
    item meta not in the woocommerce_hidden_order_itemmeta list, underscore or not."""
    simple = ShopProduct(id=40, parent_id=None, sku="MUG-BLUE", ean="8712345678901", stock=5)
    variation = ShopProduct(id=52, parent_id=50, sku="", ean="8712345678918", stock=None)
    body = draft_to_wc(make_draft(line_products=(simple, variation)))
    first, second = body["line_items"]
    assert first == {"product_id": 40, "name": "Mok", "quantity": 3, "subtotal": "14.97", "total": "14.97"}
    assert second == {"product_id": 50, "variation_id": 52, "name": "Schotel", "quantity": 1,
                      "subtotal": "2.50", "total": "2.50"}
    assert all("meta_data" not in item for item in body["line_items"])
    lines = json.loads(next(m["value"] for m in body["meta_data"] if m["key"] == "_orderbridge_lines"))
    assert lines == [{"line": "L1", "product": 40, "sku": None, "quantity": 3},
                     {"line": "L2", "product": 52, "sku": None, "quantity": 1}]
    # a draft with fewer products than lines: the rest go by sku
    only_first = draft_to_wc(make_draft(line_products=(simple,)))["line_items"]
    assert only_first[0]["product_id"] == 40 and only_first[1]["sku"] == "8712345678918"


def _created(meta_lines, items, extra_meta=()):
    return {"id": 900, "meta_data": [{"id": 1, "key": "_orderbridge_lines", "value": meta_lines}, *extra_meta],
            "line_items": items}


def test_our_line_ids_come_from_the_order_meta_by_position_and_product():
    entries = json.dumps([{"line": "L1", "product": 40, "sku": None, "quantity": 2},
                          {"line": "L2", "product": None, "sku": "REF-2", "quantity": 1},
                          {"line": "L3", "product": 40, "sku": None, "quantity": 1},
                          {"line": "L4", "product": None, "sku": "8712", "quantity": 1}])
    items = [
        {"id": 11, "product_id": 40, "variation_id": 0, "quantity": 2, "total": "2", "sku": "MUG", "meta_data": []},
        {"id": 12, "product_id": 60, "variation_id": 0, "quantity": 1, "total": "1", "sku": "REF-2", "meta_data": []},
        {"id": 13, "product_id": 40, "variation_id": 0, "quantity": 1, "total": "1", "sku": "MUG", "meta_data": []},
        {"id": 14, "product_id": 0, "variation_id": 0, "quantity": 1, "total": "1", "sku": None, "meta_data": []},
        # added later by the merchant in wp-admin: not ours
        {"id": 15, "product_id": 77, "variation_id": 0, "quantity": 1, "total": "1", "sku": "X", "meta_data": []},
    ]
    order = _created(entries, items)
    assert our_line_ids(order) == {11: "L1", 12: "L2", 13: "L3", 14: "L4"}
    assert [(line.id, line.external_line_id, line.product_id) for line in wc_to_shop_order_lines(order)] == [
        (11, "L1", 40), (12, "L2", 60), (13, "L3", 40), (14, "L4", None), (15, None, 77)]
    # a partial shipment (AST products_list) resolves the same way
    assert [t.external_line_id for t in tracked_lines(order, [{"item_id": 13, "qty": 1}, {"product": 60}])] == [
        "L3", "L2"]
    # the meta as a list (a PHP array) reads the same; junk reads as nothing of ours
    assert our_line_ids(_created(json.loads(entries), items)) == {11: "L1", 12: "L2", 13: "L3", 14: "L4"}
    assert our_line_ids(_created("{not json", items)) == {}
    assert our_line_ids(_created([{"line": ""}, "x", {"product": 40}], items)) == {}


def test_orders_created_before_the_order_meta_still_read_the_line_meta():
    assert our_line_ids(ORDER_WITH_LINES) == {31: "2012345678", 32: "2012345679"}


@pytest.mark.parametrize(("street", "number", "ext", "expected"), [
    ("Kerkstraat", "12", "A", "Kerkstraat 12 A"),
    ("Kerkstraat", "12", "", "Kerkstraat 12"),
    (" Kerkstraat ", " 12 ", " -2 ", "Kerkstraat 12 -2"),
    ("", "", "", ""),
])
def test_address_line(street, number, ext, expected):
    assert address_line(Address(street=street, house_number=number, house_number_ext=ext)) == expected


WC_ORDER = {
    "id": 727, "number": "727", "status": "completed",
    "date_created": "2024-03-31T03:30:00", "date_created_gmt": "2024-03-31T01:30:00",
    "date_modified": "2024-04-02T11:00:05", "date_modified_gmt": "2024-04-02T09:00:05",
    "meta_data": [
        {"id": 1, "key": "_orderbridge_ref", "value": "ob-42"},
        {"id": 2, "key": "_wc_shipment_tracking_items", "value": [
            {"tracking_provider": "postnl", "custom_tracking_provider": "", "custom_tracking_link": "",
             "tracking_number": "3SXYZ", "date_shipped": "1712048400", "tracking_id": "a" * 32},
            {"tracking_provider": "", "custom_tracking_provider": "Budbee", "custom_tracking_link": "",
             "tracking_number": "BB1", "date_shipped": "1712048400", "tracking_id": "b" * 32}]},
        {"id": 3, "key": "_tracking_number", "value": "JVGL9"},
        {"id": 4, "key": "other_plugin_tt", "value": "3SXYZ"},
    ],
}


def test_wc_order_to_shop_order():
    order = wc_to_shop_order(WC_ORDER, tracking_meta_keys=("_tracking_number", "other_plugin_tt"))
    assert (order.id, order.number, order.status, order.ref) == (727, "727", "completed", "ob-42")
    # The *_gmt fields are UTC; the local ones (site in Amsterdam here) are ignored.
    assert order.date_created == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert order.date_modified == datetime(2024, 4, 2, 9, 0, 5, tzinfo=UTC)
    assert order.tracking == (Tracking("postnl", "3SXYZ"), Tracking("Budbee", "BB1"), Tracking("", "JVGL9"))


def test_order_without_our_marker_or_tracking():
    order = wc_to_shop_order({"id": 5, "status": "pending", "date_created": "2024-01-01T00:00:00",
                              "meta_data": []})
    assert order.ref is None and order.tracking == () and order.number == "5"
    assert order.date_created == datetime(2024, 1, 1, tzinfo=UTC) and order.date_modified is None


def test_tracking_items_stored_as_an_object_and_junk_entries():
    data = {"meta_data": [{"key": "_wc_shipment_tracking_items", "value": {
        "1": {"tracking_provider": "dhl-parcel", "tracking_number": " JJD1 "},
        "3": {"tracking_provider": "dpd", "tracking_number": ""},
        "4": "not-a-dict"}},
        {"key": "_tt", "value": ["not", "a", "string"]}]}
    assert tracking_from_wc(data, ("_tt", "_missing")) == (Tracking("dhl-parcel", "JJD1"),)


@pytest.mark.parametrize("payload", [None, [], {"id": "7"}, {"id": True}, {"status": "x"}])
def test_not_an_order(payload):
    with pytest.raises(UnexpectedPayload):
        wc_to_shop_order(payload)


def test_dates():
    assert parse_wc_datetime("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_wc_datetime("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_wc_datetime(None) is None and parse_wc_datetime("soon") is None
    cest = timezone(timedelta(hours=2))
    assert format_wc_datetime(datetime(2024, 5, 1, 12, 0, 7, 999, tzinfo=cest)) == "2024-05-01T10:00:07"


# ---------------------------------------------------------------------------- lines, refunds, products
ORDER_WITH_LINES = {
    "id": 812,
    "line_items": [
        {"id": 31, "product_id": 200, "variation_id": 0, "quantity": 2, "total": "49.90",
         "meta_data": [{"id": 1, "key": "_orderbridge_line_id", "value": "2012345678"},
                       {"id": 2, "key": "_reduced_stock", "value": "2"}]},
        {"id": 32, "product_id": 300, "variation_id": 301, "quantity": 1, "total": "15.00",
         "meta_data": [{"id": 3, "key": "_orderbridge_line_id", "value": "2012345679"}]},
        {"id": 33, "product_id": 0, "variation_id": 0, "quantity": 1, "total": "3.5", "meta_data": []},
        "junk",
    ],
}


def test_order_lines_read_our_line_id_and_the_product_whose_stock_moved():
    assert wc_to_shop_order_lines(ORDER_WITH_LINES) == [
        ShopOrderLine(31, "2012345678", 200, 2, Decimal("49.90")),
        ShopOrderLine(32, "2012345679", 301, 1, Decimal("15.00")),      # the variation
        ShopOrderLine(33, None, None, 1, Decimal("3.5")),               # not ours, no product
    ]
    with pytest.raises(UnexpectedPayload):
        wc_to_shop_order_lines({"code": "woocommerce_rest_shop_order_invalid_id"})


REFUND = {
    "id": 901, "date_created": "2024-05-01T12:00:00", "date_created_gmt": "2024-05-01T10:00:00",
    "amount": "24.95", "reason": "bol.com return RMA 1", "refunded_payment": False,
    "line_items": [
        {"id": 77, "quantity": -1, "total": "-20.62", "total_tax": "-4.33",
         "meta_data": [{"id": 9, "key": "_refunded_item_id", "value": "31"}]},
        {"id": 78, "quantity": -2, "total": "0.00", "total_tax": "0.00",
         "meta_data": [{"id": 10, "key": "_refunded_item_id", "value": "32"}]},
    ],
}


def test_refund_lines_point_at_the_order_lines_with_positive_numbers():
    refund = wc_to_shop_refund(REFUND)
    assert refund == ShopRefund(
        id=901, amount=Decimal("24.95"), reason="bol.com return RMA 1",
        lines=(RefundLine(31, 1, Decimal("24.95")), RefundLine(32, 2, Decimal("0.00"))),
        date_created=datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    assert refunded_quantities([refund, wc_to_shop_refund({**REFUND, "id": 902, "line_items": REFUND["line_items"][1:]})]) == {
        31: 1, 32: 4}
    assert wc_to_shop_refund({"id": 5, "amount": None, "reason": None}) == ShopRefund(5, Decimal(0), "")
    with pytest.raises(UnexpectedPayload):
        wc_to_shop_refund([])


def test_refund_bodies_never_move_money_and_send_strings():
    body = refund_to_wc((RefundLine(31, 1, Decimal("24.95")),), Decimal("24.95"), "return", restock=False)
    assert body == {"amount": "24.95", "reason": "return", "api_refund": False, "api_restock": False,
                    "line_items": [{"id": 31, "quantity": 1, "refund_total": "24.95", "refund_tax": []}]}
    removal = removal_to_wc({31: 2, 32: 1}, "cancelled")
    assert removal["amount"] == "0.00" and removal["api_refund"] is False and removal["api_restock"] is True
    assert removal["line_items"] == [{"id": 31, "quantity": 2, "refund_total": "0.00", "refund_tax": []},
                                     {"id": 32, "quantity": 1, "refund_total": "0.00", "refund_tax": []}]
    assert "restock_items" not in removal          # not a REST parameter: WooCommerce ignores it
    assert note_to_wc("hi") == {"note": "hi", "customer_note": False, "added_by_user": False}


PRODUCT = {
    "id": 200, "type": "simple", "parent_id": 0, "sku": "KM-1", "global_unique_id": "8712345678901",
    "manage_stock": True, "stock_quantity": 7, "date_modified": "2024-05-01T12:00:00",
    "date_modified_gmt": "2024-05-01T10:00:00",
    "meta_data": [{"id": 1, "key": "_ean_plugin", "value": " 8700000000017 "}, {"id": 2, "key": "_flag", "value": True}],
}


def test_product_to_shop_product():
    assert wc_to_shop_product(PRODUCT) == ShopProduct(200, None, "KM-1", "8712345678901", 7,
                                                      datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    # A configured meta key wins; absent or not a scalar, global_unique_id is the fallback.
    assert wc_to_shop_product(PRODUCT, "_ean_plugin").ean == "8700000000017"
    assert wc_to_shop_product(PRODUCT, "_missing").ean == "8712345678901"
    assert wc_to_shop_product(PRODUCT, "_flag").ean == "8712345678901"
    assert wc_to_shop_product({**PRODUCT, "global_unique_id": None}).ean == ""


@pytest.mark.parametrize("manage, quantity, expected", [
    (True, 3, 3), (True, None, None), (False, 12, None), ("parent", 30, 30), (None, 5, None), (True, 2.0, 2),
])
def test_product_stock_only_when_the_shop_manages_it(manage, quantity, expected):
    assert wc_to_shop_product({**PRODUCT, "manage_stock": manage, "stock_quantity": quantity}).stock == expected


def test_variation_has_its_parent():
    variation = wc_to_shop_product({**PRODUCT, "id": 301, "type": "variation", "parent_id": 300})
    assert (variation.id, variation.parent_id) == (301, 300)


@pytest.mark.parametrize("payload", [None, [], {"id": "200"}, {"id": True}, {"code": "woocommerce_rest_product_invalid_id"}])
def test_not_a_product(payload):
    with pytest.raises(UnexpectedPayload):
        wc_to_shop_product(payload)


def test_registry_parses_a_product_webhook_with_the_shops_ean_key():
    from types import SimpleNamespace

    from plugin.registry import AdapterRegistry
    registry = AdapterRegistry(box=None, settings=None)
    shop = SimpleNamespace(settings={"ean_meta_key": "_ean_plugin"})
    assert registry.parse_shop_product(shop, PRODUCT).ean == "8700000000017"
    assert registry.parse_shop_product(SimpleNamespace(settings=None), PRODUCT).ean == "8712345678901"


def test_registry_builds_the_shop_with_its_ean_key():
    from plugin.registry import build_shop
    shop = build_shop("woocommerce", "https://shop.example", {"consumer_key": "ck", "consumer_secret": "cs"},
                      {"ean_meta_key": "_ean_plugin"})
    assert shop.ean_meta_key == "_ean_plugin"
    assert build_shop("woocommerce", "https://shop.example", {"consumer_key": "ck", "consumer_secret": "cs"},
                      {}).ean_meta_key == ""


def test_registry_tells_the_shop_its_version_for_the_created_via_filter():
    from plugin.registry import build_shop
    keys = {"consumer_key": "ck", "consumer_secret": "cs"}
    assert build_shop("woocommerce", "https://shop.example", keys, {}, version="9.9.5").filters_created_via
    assert build_shop("woocommerce", "https://shop.example", keys, {}, version="10.3.1").filters_created_via
    for older in ("9.8.5", "7.8.2", None, "", "trunk"):
        assert not build_shop("woocommerce", "https://shop.example", keys, {}, version=older).filters_created_via
