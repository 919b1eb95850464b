from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.woocommerce.mapping import (
    UnexpectedPayload,
    address_line,
    draft_to_wc,
    format_wc_datetime,
    parse_wc_datetime,
    tracking_from_wc,
    wc_to_shop_order,
)
from plugin.sync.ports import Address, OrderLine, ShopOrderDraft, Tracking

SHIPPING = Address(first_name="Jan", last_name="Jansen", company="", street="Dorpsweg", house_number="7",
                   house_number_ext="bis", extra="2e verdieping", zip_code="9999 ZZ", city="Ergens",
                   country_code="nl", email="jan@example.nl", phone="+31612345678")
BILLING = Address(first_name="Piet", last_name="Pietersen", street="Laan", house_number="1",
                  zip_code="1000 AA", city="Amsterdam", country_code="NL", email="piet@example.nl")


def make_draft(**changes) -> ShopOrderDraft:
    values = dict(ref="ob-42", marketplace="bol", external_id="A1B2C3", status="processing",
                  lines=(OrderLine("L1", "8712345678901", "Mok", 3, Decimal("4.99"), sku="MOK-01"),
                         OrderLine("L2", "8712345678918", "Schotel", 1, Decimal("2.5"))),
                  shipping=SHIPPING, note="Graag na 17:00")
    values.update(changes)
    return ShopOrderDraft(**values)


def test_draft_to_wc_order():
    body = draft_to_wc(make_draft())
    assert body["status"] == "processing" and body["set_paid"] is True
    assert body["created_via"] == "orderbridge" and body["customer_note"] == "Graag na 17:00"
    assert {m["key"]: m["value"] for m in body["meta_data"]} == {
        "_orderbridge_ref": "ob-42", "_orderbridge_marketplace": "bol", "_orderbridge_external_id": "A1B2C3"}
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
    assert first == {"sku": "MOK-01", "name": "Mok", "quantity": 3, "subtotal": "14.97", "total": "14.97",
                     "meta_data": [{"key": "_orderbridge_line_id", "value": "L1"}]}
    # WooCommerce refuses a new line without sku/product_id; an unknown sku is stored as a plain line.
    assert second["sku"] == "8712345678918" and second["total"] == "2.50" and second["name"] == "Schotel"
    no_ids = draft_to_wc(make_draft(lines=(OrderLine("L9", "", "Los", 1, Decimal("1")),)))["line_items"][0]
    assert no_ids["sku"] == "L9"


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
