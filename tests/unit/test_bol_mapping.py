"""Pure JSON <-> port mapping of the bol adapter (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from adapters.bol import config_schema, mapping
from plugin.sync.ports import (
    Address,
    CancelItems,
    OfferStock,
    ProcessResult,
    ReturnHandling,
    ShipmentRequest,
)

ORDER = {
    "orderId": "A2K8290LP8",
    "pickupPoint": False,
    "orderPlacedDateTime": "2024-02-09T12:39:48+01:00",
    "shipmentDetails": {
        "pickupPointName": None, "salutation": "FEMALE", "firstName": "Billie", "surname": "de Jong",
        "streetName": "Dorpstraat", "houseNumber": "1", "houseNumberExtension": "B",
        "extraAddressInformation": None, "zipCode": "1111ZZ", "city": "Utrecht", "countryCode": "NL",
        "email": "2x7ab@verkopen.bol.com", "company": None, "deliveryPhoneNumber": "0612345678", "language": "nl",
    },
    "billingDetails": {
        "salutation": "FEMALE", "firstName": "Billie", "surname": "de Jong", "streetName": "Kerkstraat",
        "houseNumber": "12", "zipCode": "3511AB", "city": "Utrecht", "countryCode": "NL",
        "email": "2x7ab@verkopen.bol.com", "company": "Jong B.V.", "vatNumber": "NL999999999B99",
    },
    "orderItems": [
        {
            "orderItemId": "2012345678", "cancellationRequest": False,
            "fulfilment": {"method": "FBR", "timeFrameType": "REGULAR", "latestDeliveryDate": "2024-02-10"},
            "offer": {"offerId": "6ff736b5-cdd0-4150-8c67-78269ee986f5", "reference": "SKU-1"},
            "product": {"ean": "8712345678906", "title": "Lamp"},
            "quantity": 2, "quantityShipped": 0, "quantityCancelled": 0,
            "unitPrice": 12.99, "totalPrice": 25.98, "commission": 4.89, "discounts": [],
            "latestChangedDateTime": "2024-02-09T12:39:48+01:00",
        },
        {
            "orderItemId": "2012345679", "cancellationRequest": False,
            "fulfilment": {"method": "FBR", "timeFrameType": "REGULAR"},
            "offer": {"offerId": "x", "reference": None}, "product": {"ean": "8712345678913", "title": "Boek"},
            "quantity": 1, "quantityShipped": 0, "quantityCancelled": 0,
            "unitPrice": 0.1, "totalPrice": 0.1, "commission": 0.99, "discounts": [],
            "latestChangedDateTime": None,
        },
    ],
}


# ------------------------------------------------------------------ scalars
def test_parse_datetime_converts_offsets_to_utc():
    assert mapping.parse_datetime("2024-02-09T12:39:48+01:00") == datetime(2024, 2, 9, 11, 39, 48, tzinfo=UTC)
    assert mapping.parse_datetime("2024-07-01T00:30:00+02:00") == datetime(2024, 6, 30, 22, 30, tzinfo=UTC)
    assert mapping.parse_datetime("2024-02-09T12:39:48Z").tzinfo == UTC
    assert mapping.parse_datetime("2024-02-09T12:39:48").tzinfo == UTC
    assert mapping.parse_datetime(None) is None
    assert mapping.parse_datetime("not a date") is None


@pytest.mark.parametrize("raw, expected", [(12.99, "12.99"), (0.1, "0.1"), (5, "5"), ("19.95", "19.95"),
                                           (None, "0")])
def test_money_is_exact(raw, expected):
    assert mapping.money(raw) == Decimal(expected)
    assert str(mapping.money(raw)) == expected


def test_money_refuses_garbage():
    with pytest.raises(ValueError):
        mapping.money("twelve")


# ------------------------------------------------------------------ order list
def test_order_summaries():
    payload = {"orders": [
        {"orderId": "A1", "orderPlacedDateTime": "2024-02-09T12:39:48+01:00",
         "orderItems": [{"orderItemId": "1"}, {"orderItemId": "2"}]},
        {"orderId": "A2", "orderPlacedDateTime": None, "orderItems": []},
    ]}
    first, second = mapping.order_summaries(payload)
    assert first.external_id == "A1" and first.line_ids == ("1", "2")
    assert first.placed_at == datetime(2024, 2, 9, 11, 39, 48, tzinfo=UTC)
    assert second.placed_at is None and second.line_ids == ()


@pytest.mark.parametrize("empty", [{}, {"orders": []}, {"orders": None}])
def test_empty_page_in_every_shape_bol_uses(empty):
    assert mapping.order_summaries(empty) == []


# ------------------------------------------------------------------ order detail
def test_marketplace_order():
    order = mapping.marketplace_order(ORDER)
    assert order.external_id == "A2K8290LP8"
    assert order.placed_at == datetime(2024, 2, 9, 11, 39, 48, tzinfo=UTC)
    assert order.fulfilment_method == "FBR"
    lamp, book = order.lines
    assert (lamp.external_line_id, lamp.ean, lamp.title, lamp.quantity) == ("2012345678", "8712345678906", "Lamp", 2)
    assert lamp.unit_price == Decimal("12.99") and lamp.sku == "SKU-1"
    assert book.unit_price == Decimal("0.1") and book.sku == ""          # null reference -> ""
    assert order.shipping == Address(
        first_name="Billie", last_name="de Jong", street="Dorpstraat", house_number="1",
        house_number_ext="B", zip_code="1111ZZ", city="Utrecht", country_code="NL",
        email="2x7ab@verkopen.bol.com", phone="0612345678")
    assert order.billing is not None
    assert (order.billing.street, order.billing.company, order.billing.house_number_ext) == \
        ("Kerkstraat", "Jong B.V.", "")


def test_marketplace_order_without_billing_offer_or_product():
    bare = {"orderId": "A3", "shipmentDetails": ORDER["shipmentDetails"], "billingDetails": None,
            "orderItems": [{"orderItemId": "9", "offer": None, "product": None, "fulfilment": None,
                            "quantity": 1, "unitPrice": 3}]}
    order = mapping.marketplace_order(bare)
    assert order.billing is None and order.placed_at is None
    [line] = order.lines
    assert (line.ean, line.title, line.sku, line.unit_price) == ("", "", "", Decimal("3"))


def test_fbb_only_when_every_item_is_fulfilled_by_bol():
    def with_methods(*methods):
        items = [dict(ORDER["orderItems"][0], orderItemId=str(n), fulfilment={"method": m})
                 for n, m in enumerate(methods)]
        return mapping.marketplace_order(dict(ORDER, orderItems=items)).fulfilment_method

    assert with_methods("FBB", "FBB") == "FBB"
    assert with_methods("FBB", "FBR") == "FBR"
    assert with_methods("FBR") == "FBR"


# ------------------------------------------------------------------ shipment request
def request(**overrides) -> ShipmentRequest:
    values = dict(external_order_id="A1", line_ids=("11", "12"), reference="ob-7",
                  transporter_code="TNT", track_and_trace="3SBOL0987654321")
    values.update(overrides)
    return ShipmentRequest(**values)


def test_shipment_body_with_track_and_trace():
    assert mapping.shipment_body(request()) == {
        "orderItems": [{"orderItemId": "11"}, {"orderItemId": "12"}],
        "shipmentReference": "ob-7",
        "transport": {"transporterCode": "TNT", "trackAndTrace": "3SBOL0987654321"},
    }


def test_shipment_body_transporter_without_track_and_trace():
    body = mapping.shipment_body(request(track_and_trace=None))
    assert body["transport"] == {"transporterCode": "TNT"}


def test_shipment_body_without_transport_leaves_transport_out():
    body = mapping.shipment_body(request(transporter_code=None, track_and_trace=None))
    assert "transport" not in body
    assert body["orderItems"] == [{"orderItemId": "11"}, {"orderItemId": "12"}]


def test_shipment_body_never_sends_an_empty_reference():
    assert "shipmentReference" not in mapping.shipment_body(request(reference=""))


@pytest.mark.parametrize("overrides", [
    {"line_ids": ()},
    {"line_ids": tuple(str(n) for n in range(101))},
    {"reference": "r" * 91},
    {"transporter_code": None, "track_and_trace": "3SBOL1"},
])
def test_shipment_body_refuses_what_bol_would_refuse(overrides):
    with pytest.raises(ValueError):
        mapping.shipment_body(request(**overrides))


def test_shipment_body_accepts_the_limits():
    body = mapping.shipment_body(request(line_ids=tuple(str(n) for n in range(100)), reference="r" * 90))
    assert len(body["orderItems"]) == 100


# ------------------------------------------------------------------ process status
def status(pid, state, created="2024-02-09T12:00:00+01:00", error=None) -> dict:
    body = {"processStatusId": pid, "entityId": "11", "eventType": "CREATE_SHIPMENT",
            "description": "d", "status": state, "createTimestamp": created, "links": []}
    if error is not None:
        body["errorMessage"] = error
    return body


def test_process_result():
    assert mapping.process_result(status("1", "PENDING")).done is False
    failed = mapping.process_result(status("2", "FAILURE", error="Transporter code 'X' is not valid."))
    assert (failed.process_id, failed.status, failed.error, failed.done) == \
        ("2", "FAILURE", "Transporter code 'X' is not valid.", True)
    assert mapping.process_result(dict(status("3", "SUCCESS"), errorMessage=None)).error is None
    assert mapping.process_result(dict(status("4", "SUCCESS"), processStatusId=4)).process_id == "4"


def test_newest_active_process_skips_failures():
    payload = {"processStatuses": [
        status("3", "FAILURE", "2024-02-09T12:05:00+01:00", "already shipped"),
        status("2", "SUCCESS", "2024-02-09T12:01:00+01:00"),
        status("1", "PENDING", "2024-02-09T12:00:00+01:00"),
    ]}
    assert mapping.newest_active_process(payload).process_id == "2"


def test_newest_active_process_orders_by_timestamp_then_list_order():
    same = "2024-02-09T12:00:00+01:00"
    assert mapping.newest_active_process({"processStatuses": [
        status("1", "SUCCESS", "2024-02-09T11:00:00+01:00"), status("2", "PENDING", "2024-02-09T10:30:00Z")]}
    ).process_id == "2"                      # 10:30Z is later than 11:00+01:00
    assert mapping.newest_active_process({"processStatuses": [
        status("5", "PENDING", same), status("4", "SUCCESS", same)]}).process_id == "5"


@pytest.mark.parametrize("payload", [{}, {"processStatuses": []},
                                     {"processStatuses": [status("1", "FAILURE", error="x")]}])
def test_newest_active_process_none(payload):
    assert mapping.newest_active_process(payload) is None


# ------------------------------------------------------------------ configuration
def test_config_schema():
    assert config_schema.load({"client_id": "id", "client_secret": "s", "label": "x"}) == \
        {"client_id": "id", "client_secret": "s"}
    assert "client_secret" not in config_schema.dump({"client_id": "id", "client_secret": "s"})
    with pytest.raises(ValidationError) as excinfo:
        config_schema.load({"client_id": ""})
    assert set(excinfo.value.messages) == {"client_id", "client_secret"}


# ------------------------------------------------------------------ buyer cancellation requests
def test_order_line_carries_the_buyers_cancellation_request():
    requested = dict(ORDER["orderItems"][0], cancellationRequest=True)
    order = mapping.marketplace_order(dict(ORDER, orderItems=[requested, ORDER["orderItems"][1]]))
    assert [line.cancellation_requested for line in order.lines] == [True, False]
    missing = {k: v for k, v in ORDER["orderItems"][0].items() if k != "cancellationRequest"}
    assert mapping.order_line(missing).cancellation_requested is False


# ------------------------------------------------------------------ combined processes
def result(pid: str, state: str, error: str | None = None) -> ProcessResult:
    return ProcessResult(pid, state, error)


@pytest.mark.parametrize("states, expected", [
    (("SUCCESS", "SUCCESS"), "SUCCESS"),
    (("SUCCESS", "PENDING"), "PENDING"),
    (("PENDING", "TIMEOUT", "SUCCESS"), "TIMEOUT"),
    (("TIMEOUT", "FAILURE", "PENDING"), "FAILURE"),
])
def test_combined_process_status(states, expected):
    combined = mapping.combined_process([result(str(n), s) for n, s in enumerate(states, 1)])
    assert combined.status == expected
    assert combined.process_id == ",".join(str(n) for n in range(1, len(states) + 1))
    assert mapping.split_process_id(combined.process_id) == [str(n) for n in range(1, len(states) + 1)]


def test_combined_process_keeps_every_error_and_passes_one_through():
    combined = mapping.combined_process([result("1", "FAILURE", "already shipped"), result("2", "SUCCESS"),
                                         result("3", "FAILURE", "could not be found")])
    assert combined.error == "1: already shipped; 3: could not be found"
    single = result("7", "PENDING")
    assert mapping.combined_process([single]) is single
    assert mapping.split_process_id("7") == ["7"] and mapping.split_process_id("") == []
    with pytest.raises(ValueError):
        mapping.combined_process([])


# ------------------------------------------------------------------ offers (v11)
OFFER = {
    "offerId": "6ff736b5-cdd0-4150-8c67-78269ee986f5", "ean": "8712345678906", "reference": "SKU-1",
    "lastModifiedDateTime": "2024-02-09T12:39:48+01:00", "onHoldByRetailer": False,
    "stock": {"amount": 7, "correctedStock": 5, "managedByRetailer": True},
    "condition": {"category": "NEW"}, "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": 9.99}]},
    "fulfilment": {"method": "FBR"},
}


def test_offer_takes_the_amount_not_the_corrected_stock():
    offer = mapping.offer(OFFER)
    assert (offer.offer_id, offer.ean, offer.reference) == (OFFER["offerId"], "8712345678906", "SKU-1")
    assert (offer.stock, offer.managed_by_retailer) == (7, True)


def test_offer_without_stock_or_reference():
    bare = mapping.offer({"offerId": "x", "ean": "1", "stock": None})
    assert (bare.reference, bare.stock, bare.managed_by_retailer) == ("", None, None)
    assert mapping.offer({"offerId": "x", "stock": {"amount": True}}).stock is None


@pytest.mark.parametrize("page, expected_cursor", [
    ({"pageSize": 100, "nextCursor": "abc"}, "abc"),
    ({"pageSize": 100, "nextCursor": None}, None),
    ({"pageSize": 100}, None),
    (None, None),
])
def test_offers_page(page, expected_cursor):
    offers, cursor = mapping.offers_page({"offers": [OFFER], "page": page})
    assert [o.offer_id for o in offers] == [OFFER["offerId"]] and cursor == expected_cursor
    assert mapping.offers_page({}) == ([], None)


def test_stock_body_sends_only_the_stock():
    assert mapping.stock_body(OfferStock("o-1", 0)) == {"stock": {"amount": 0, "managedByRetailer": True}}
    assert mapping.stock_body(OfferStock("o-1", 12, managed_by_retailer=False)) == {
        "stock": {"amount": 12, "managedByRetailer": False}}


@pytest.mark.parametrize("update", [OfferStock("o-1", -1), OfferStock("o-1", True), OfferStock("", 3),
                                    OfferStock("o-1", 2**31)])
def test_stock_body_refuses_what_bol_would_refuse(update):
    with pytest.raises(ValueError):
        mapping.stock_body(update)


# ------------------------------------------------------------------ cancellations
def test_cancellation_bodies_one_item_a_call():
    assert mapping.cancellation_bodies(CancelItems("A1", ("11", "12"), "REQUESTED_BY_CUSTOMER")) == [
        {"orderItems": [{"orderItemId": "11", "reasonCode": "REQUESTED_BY_CUSTOMER"}]},
        {"orderItems": [{"orderItemId": "12", "reasonCode": "REQUESTED_BY_CUSTOMER"}]},
    ]


@pytest.mark.parametrize("request_", [
    CancelItems("A1", (), "OUT_OF_STOCK"), CancelItems("A1", ("11", "11"), "OUT_OF_STOCK"),
    CancelItems("A1", ("",), "OUT_OF_STOCK"), CancelItems("A1", ("11",), "out_of_stock"),
])
def test_cancellation_bodies_refuse_what_bol_would_refuse(request_):
    with pytest.raises(ValueError):
        mapping.cancellation_bodies(request_)


# ------------------------------------------------------------------ returns
def test_return_handling_body():
    assert mapping.return_handling_body(ReturnHandling("31234567", "RETURN_RECEIVED", 2)) == {
        "handlingResult": "RETURN_RECEIVED", "quantityReturned": 2}


@pytest.mark.parametrize("handling", [
    ReturnHandling("31234567", "ACCEPTED", 1), ReturnHandling("31234567", "RETURN_RECEIVED", 0),
    ReturnHandling("31234567", "RETURN_RECEIVED", 10000), ReturnHandling("RMA-1", "RETURN_RECEIVED", 1),
])
def test_return_handling_body_refuses_what_bol_would_refuse(handling):
    with pytest.raises(ValueError):
        mapping.return_handling_body(handling)


@pytest.mark.parametrize("reason, expected", [
    ({"mainReason": "Verkeerd besteld", "detailedReason": "Dubbel besteld", "customerComments": "oeps"},
     'Verkeerd besteld: Dubbel besteld ("oeps")'),
    ({"mainReason": "Artikel werkt niet", "detailedReason": None, "customerComments": ""}, "Artikel werkt niet"),
    (None, ""),
])
def test_return_reason(reason, expected):
    assert mapping.return_reason(reason) == expected


def test_line_id_for_finds_the_item_of_the_ean():
    shipped = dict(ORDER["orderItems"][0], quantityShipped=2)
    assert mapping.line_id_for(dict(ORDER, orderItems=[shipped, ORDER["orderItems"][1]]), "8712345678906") == "2012345678"
    twice = [dict(ORDER["orderItems"][0], orderItemId="a", quantityShipped=0),
             dict(ORDER["orderItems"][0], orderItemId="b", quantityShipped=1)]
    assert mapping.line_id_for({"orderItems": twice}, "8712345678906") == "b"     # the one that was shipped
    assert mapping.line_id_for(ORDER, "0000000000000") == ""


RETURNS = {"returns": [{
    "returnId": "1", "registrationDateTime": "2024-03-01T10:00:00+01:00", "fulfilmentMethod": "FBR",
    "returnItems": [
        {"rmaId": "31234567", "orderId": "A2K8290LP8", "ean": "8712345678906", "expectedQuantity": 2,
         "returnReason": {"mainReason": "Anders", "detailedReason": "Ik heb me bedacht", "customerComments": ""},
         "handled": True, "processingResults": [
             {"quantity": 2, "processingResult": "ACCEPTED", "handlingResult": "RETURN_RECEIVED",
              "processingDateTime": "2024-03-02T10:00:00+01:00"},
             {"quantity": 1, "processingResult": "REJECTED", "handlingResult": "RETURN_DOES_NOT_MEET_CONDITIONS",
              "processingDateTime": "2024-03-03T10:00:00+01:00"}]},
        {"rmaId": "31234568", "orderId": "A2K8290LP9", "ean": "8712345678913", "expectedQuantity": 1,
         "returnReason": {"mainReason": "Elders goedkoper", "customerComments": ""}, "handled": False,
         "processingResults": []},
    ]}]}


def test_marketplace_returns_one_per_item_with_the_latest_result():
    handled, open_ = mapping.marketplace_returns(RETURNS, {("A2K8290LP8", "8712345678906"): "2012345678"})
    assert (handled.return_id, handled.rma_id, handled.external_order_id, handled.line_id) == (
        "1", "31234567", "A2K8290LP8", "2012345678")
    assert handled.registered_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert (handled.quantity, handled.handled, handled.handling_result, handled.quantity_returned) == (
        2, True, "RETURN_DOES_NOT_MEET_CONDITIONS", 1)
    assert handled.reason == "Anders: Ik heb me bedacht"
    assert (open_.line_id, open_.handled, open_.handling_result, open_.quantity_returned) == ("", False, None, None)
    assert mapping.return_keys(RETURNS) == [("A2K8290LP8", "8712345678906"), ("A2K8290LP9", "8712345678913")]


def test_marketplace_returns_of_one_return_and_of_empty_pages():
    single = dict(RETURNS["returns"][0])
    assert [r.rma_id for r in mapping.marketplace_returns(single)] == ["31234567", "31234568"]
    assert len(mapping.return_keys(single)) == 2
    for empty in ({}, {"returns": []}, {"returns": None}):
        assert mapping.marketplace_returns(empty) == [] and mapping.return_keys(empty) == []
