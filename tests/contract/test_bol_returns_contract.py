"""Returns on bol.com: buyers' returns registered in the bol sandbox, listed and handled by the real
adapter over real HTTP on 127.0.0.1, with OpenAPI validation of the traffic."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from adapters.bol import RETURN_EVENT_TYPE, VENDOR_JSON, BolMarketplace
from adapters.errors import RateLimited, Rejected, Transient
from plugin.sync.ports import ReturnHandling
from tests.contract.conftest_bol import OTHER_ID, SELLER_ID, SELLER_SECRET, Sandbox

PUT_RETURN = "PUT /retailer/returns/<rma_id>"


def wait_done(marketplace: BolMarketplace, process_id: str):
    return marketplace.wait_for_process(process_id, timeout=5.0, interval=0.02)


def raw_client(sandbox: Sandbox) -> httpx.Client:
    token = httpx.post(f"{sandbox.url}/token", params={"grant_type": "client_credentials"},
                       auth=(SELLER_ID, SELLER_SECRET)).json()["access_token"]
    return httpx.Client(base_url=sandbox.url, headers={
        "Authorization": f"Bearer {token}", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON})


def shipped_orders(sandbox: Sandbox, count: int, items: int = 1, client_id: str = SELLER_ID):
    orders = sandbox.add_orders(count, client_id=client_id, items_per_order=items)
    for order in orders:
        sandbox.ship_now(order)
    return orders


# ------------------------------------------------------------------ listing
def test_open_returns_are_listed_with_their_order_line(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = shipped_orders(bol_sandbox, 1, items=2)
    first, second = order.items
    record = bol_sandbox.add_return((second.order_item_id, 1), main_reason="Verkeerd besteld",
                                    detailed_reason="Dubbel besteld", comments="Per ongeluk twee keer")
    [other] = shipped_orders(bol_sandbox, 1, client_id=OTHER_ID)
    bol_sandbox.add_return((other.items[0].order_item_id, 1), client_id=OTHER_ID)

    [found] = bol.list_returns(handled=False)

    assert (found.return_id, found.rma_id) == (record.return_id, record.items[0].rma_id)
    assert (found.external_order_id, found.line_id, found.quantity) == (order.order_id, second.order_item_id, 1)
    assert found.reason == 'Verkeerd besteld: Dubbel besteld ("Per ongeluk twee keer")'
    assert found.registered_at == record.registered_at and found.registered_at.utcoffset().total_seconds() == 0
    assert (found.handled, found.handling_result, found.quantity_returned) == (False, None, None)
    assert list(bol.list_returns(handled=True)) == []
    assert first.order_item_id != found.line_id


def test_returns_page_by_fifty_and_each_order_is_read_once(bol: BolMarketplace, bol_sandbox: Sandbox, recorder):
    orders = shipped_orders(bol_sandbox, 60)
    for order in orders:
        bol_sandbox.add_return((order.items[0].order_item_id, 1))
    [multi] = shipped_orders(bol_sandbox, 1, items=3)
    bol_sandbox.add_return(*((i.order_item_id, 1) for i in multi.items))

    found = list(bol.list_returns(handled=False))

    assert len(found) == 63
    assert {r.line_id for r in found} == {i.order_item_id for o in [*orders, multi] for i in o.items}
    assert bol_sandbox.requests("GET /retailer/returns") == 3          # 50 + 11, then the empty page
    # One successful read per order (61 reads also run into the orders group's rate limit: a 429
    # there is waited out and retried, as for any GET).
    reads = [e.request.url.path for e in recorder.api_exchanges()
             if e.request.url.path.startswith("/retailer/orders/") and e.response.status_code == 200]
    assert len(reads) == len(set(reads)) == 61
    # The next poll lists the same open returns without reading their orders again.
    assert len(list(bol.list_returns(handled=False))) == 63
    assert len([e for e in recorder.api_exchanges() if e.request.url.path.startswith("/retailer/orders/")
                and e.response.status_code == 200]) == 61


def test_a_return_of_an_item_shipped_twice_over_quantity(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=1)
    item = order.items[0]
    with pytest.raises(ValueError):
        bol_sandbox.add_return((item.order_item_id, 1))                 # nothing shipped yet
    bol_sandbox.ship_now(order)
    bol_sandbox.add_return((item.order_item_id, item.quantity))
    with pytest.raises(ValueError):
        bol_sandbox.add_return((item.order_item_id, 1))                 # everything already returned
    with pytest.raises(KeyError):
        bol_sandbox.add_return((item.order_item_id, 1), client_id=OTHER_ID)


# ------------------------------------------------------------------ handling
def test_handling_a_return_moves_it_to_handled(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = shipped_orders(bol_sandbox, 1)
    record = bol_sandbox.add_return((order.items[0].order_item_id, 1))
    rma_id = record.items[0].rma_id

    started = bol.handle_return(ReturnHandling(rma_id, "RETURN_RECEIVED", 1))
    assert started.status == "PENDING"
    done = wait_done(bol, started.process_id)

    assert done.status == "SUCCESS"
    assert list(bol.list_returns(handled=False)) == []
    [handled] = bol.list_returns(handled=True)
    assert (handled.rma_id, handled.handled, handled.handling_result, handled.quantity_returned) == (
        rma_id, True, "RETURN_RECEIVED", 1)
    [received] = bol_sandbox.handlings_for(rma_id)
    assert received["body"] == {"handlingResult": "RETURN_RECEIVED", "quantityReturned": 1}
    assert (received["http_status"], received["status"]) == (202, "SUCCESS")
    with raw_client(bol_sandbox) as client:
        detail = client.get(f"/retailer/returns/{record.return_id}").json()
    [result] = detail["returnItems"][0]["processingResults"]
    assert (result["processingResult"], result["handlingResult"], result["quantity"]) == ("ACCEPTED", "RETURN_RECEIVED", 1)


def test_handling_again_changes_the_result_and_a_resend_changes_nothing(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    for result in ("RETURN_RECEIVED", "RETURN_RECEIVED", "RETURN_DOES_NOT_MEET_CONDITIONS"):
        assert wait_done(bol, bol.handle_return(ReturnHandling(item.rma_id, result, 1)).process_id).status == "SUCCESS"

    assert [(r["handlingResult"], r["processingResult"]) for r in item.processing_results] == [
        ("RETURN_RECEIVED", "ACCEPTED"), ("RETURN_DOES_NOT_MEET_CONDITIONS", "REJECTED")]
    [handled] = bol.list_returns(handled=True)
    assert handled.handling_result == "RETURN_DOES_NOT_MEET_CONDITIONS"


@pytest.mark.parametrize("case, expected", [
    ("too_many", "exceeds the expected quantity"),
    ("still_approved_unhandled", "has not been handled yet"),
    ("unknown", "could not be found"),
    ("foreign", "could not be found"),
])
def test_handlings_bol_refuses_fail_asynchronously(bol: BolMarketplace, bol_sandbox: Sandbox, case, expected):
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    [foreign_order] = shipped_orders(bol_sandbox, 1, client_id=OTHER_ID)
    foreign = bol_sandbox.add_return((foreign_order.items[0].order_item_id, 1), client_id=OTHER_ID).items[0]
    handling = {
        "too_many": ReturnHandling(item.rma_id, "RETURN_RECEIVED", 2),
        "still_approved_unhandled": ReturnHandling(item.rma_id, "STILL_APPROVED", 1),
        "unknown": ReturnHandling("99999999", "RETURN_RECEIVED", 1),
        "foreign": ReturnHandling(foreign.rma_id, "RETURN_RECEIVED", 1),
    }[case]

    done = wait_done(bol, bol.handle_return(handling).process_id)

    assert done.status == "FAILURE" and expected in (done.error or "")
    assert not item.handled and not foreign.handled
    assert bol.find_return_process(handling) is None


@pytest.mark.parametrize("handling", [
    ReturnHandling("31000001", "REFUNDED", 1),
    ReturnHandling("31000001", "RETURN_RECEIVED", 0),
    ReturnHandling("31000001", "RETURN_RECEIVED", 10000),
    ReturnHandling("RMA-1", "RETURN_RECEIVED", 1),
])
def test_invalid_handling_is_rejected_before_sending(bol: BolMarketplace, bol_sandbox: Sandbox, handling):
    with pytest.raises(Rejected):
        bol.handle_return(handling)
    assert bol_sandbox.requests(PUT_RETURN) == 0


# ------------------------------------------------------------------ unknown outcomes and limits
def test_lost_answer_then_find_return_process(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    handling = ReturnHandling(item.rma_id, "EXCHANGE_PRODUCT", 1)
    bol_sandbox.state.configure_faults(return_fail_after_commit_next=1)

    with pytest.raises(Transient):
        bol.handle_return(handling)

    found = bol.find_return_process(handling)
    [received] = bol_sandbox.handlings_for(item.rma_id)
    assert received["http_status"] == 500
    assert found is not None and found.process_id == received["process_status_id"]
    assert wait_done(bol, found.process_id).status == "SUCCESS"
    assert item.handled and len(item.processing_results) == 1
    assert bol_sandbox.state.stats.lost_answers == 1


def test_429_on_handling_is_not_retried_and_reads_are(make_bol, bol_sandbox: Sandbox):
    slept: list[float] = []
    marketplace = make_bol(sleep=slept.append)
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    bol_sandbox.state.configure_faults(rate_limit_burst=1, rate_limit_retry_after=2)

    with pytest.raises(RateLimited) as excinfo:
        marketplace.handle_return(ReturnHandling(item.rma_id, "RETURN_RECEIVED", 1))
    assert excinfo.value.retry_after == 2.0 and not item.handled

    bol_sandbox.state.configure_faults(rate_limit_burst=1)
    assert [r.rma_id for r in marketplace.list_returns(handled=False)] == [item.rma_id]
    assert len(slept) == 1 and slept[0] >= 1.0
    assert bol_sandbox.requests(PUT_RETURN) == 1 and bol_sandbox.handlings_for(item.rma_id) == []


def test_5xx_on_handling_is_transient(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(retry_attempts=1)
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    bol_sandbox.state.configure_faults(error_rate=1.0)

    with pytest.raises(Transient):
        marketplace.handle_return(ReturnHandling(item.rma_id, "RETURN_RECEIVED", 1))
    with pytest.raises(Transient):
        list(marketplace.list_returns(handled=False))
    assert bol_sandbox.requests(PUT_RETURN) == 1 and not item.handled


# ------------------------------------------------------------------ ordering, detail, OpenAPI conformance
def test_handled_returns_newest_first_open_ones_oldest_first(bol_sandbox: Sandbox, bol: BolMarketplace):
    orders = shipped_orders(bol_sandbox, 4)
    records = []
    for order in orders:
        records.append(bol_sandbox.add_return((order.items[0].order_item_id, 1)))
        time.sleep(0.002)
    for record in records[:2]:
        wait_done(bol, bol.handle_return(ReturnHandling(record.items[0].rma_id, "RETURN_RECEIVED", 1)).process_id)

    with raw_client(bol_sandbox) as client:
        open_ = [r["returnId"] for r in client.get("/retailer/returns", params={"handled": "false"}).json()["returns"]]
        handled = [r["returnId"] for r in client.get("/retailer/returns", params={"handled": "true"}).json()["returns"]]
        fbb = client.get("/retailer/returns", params={"fulfilment-method": "FBB"}).json()

    assert open_ == [records[2].return_id, records[3].return_id]
    assert handled == [records[1].return_id, records[0].return_id]
    assert fbb == {"returns": []}


def test_adapter_returns_traffic_conforms_to_the_spec(bol: BolMarketplace, bol_sandbox: Sandbox, recorder, bol_spec):
    orders = shipped_orders(bol_sandbox, 2, items=2)
    record = bol_sandbox.add_return((orders[0].items[0].order_item_id, 1), (orders[1].items[1].order_item_id, 1),
                                    track_and_trace="3SBOL0987654321", transporter_name="PostNL")
    found = list(bol.list_returns(handled=False))
    assert [r.line_id for r in found] == [orders[0].items[0].order_item_id, orders[1].items[1].order_item_id]
    process = bol.handle_return(ReturnHandling(record.items[0].rma_id, "REPAIR_PRODUCT", 1))
    wait_done(bol, process.process_id)
    assert bol.find_return_process(ReturnHandling(record.items[0].rma_id, "REPAIR_PRODUCT", 1)) is not None
    list(bol.list_returns(handled=True))

    exchanges = recorder.api_exchanges()
    [put] = [e for e in exchanges if e.request.method == "PUT"]
    assert put.response.status_code == 202 and json.loads(put.response.content)["eventType"] == RETURN_EVENT_TYPE
    assert json.loads(put.response.content)["entityId"] == record.items[0].rma_id
    for exchange in exchanges:
        bol_spec.validate_request(exchange.request)
        bol_spec.validate_response(exchange.request, exchange.response)

    with raw_client(bol_sandbox) as client:
        detail = client.get(f"/retailer/returns/{record.return_id}")
        missing = client.get("/retailer/returns/1")
    for response in (detail, missing):
        bol_spec.validate_response(response.request, response)
    assert missing.status_code == 404
    items = detail.json()["returnItems"]
    assert [i["rmaId"] for i in items] == [i.rma_id for i in record.items]
    assert items[0]["trackAndTrace"] == "3SBOL0987654321" and items[0]["customerDetails"]["salutation"]
    assert "orderItemId" not in items[0]             # bol's return items name the order and the EAN only


def test_sandbox_returns_errors_conform_to_the_spec(bol_sandbox: Sandbox, bol_spec):
    [order] = shipped_orders(bol_sandbox, 1)
    item = bol_sandbox.add_return((order.items[0].order_item_id, 1)).items[0]
    with raw_client(bol_sandbox) as client:
        refused = [
            client.get("/retailer/returns", params={"handled": "maybe"}),
            client.get("/retailer/returns", params={"fulfilment-method": "ALL"}),
            client.get("/retailer/returns", params={"page": 0}),
            client.put(f"/retailer/returns/{item.rma_id}", content=json.dumps({"handlingResult": "LOST",
                                                                                "quantityReturned": 1})),
            client.put(f"/retailer/returns/{item.rma_id}", content=json.dumps({"handlingResult": "RETURN_RECEIVED"})),
        ]
        not_a_number = client.put("/retailer/returns/abc", content=json.dumps({
            "handlingResult": "RETURN_RECEIVED", "quantityReturned": 1}))
    assert [r.status_code for r in refused] == [400, 400, 400, 400, 400]
    for response in refused:
        bol_spec.validate_response(response.request, response)
    assert not_a_number.status_code == 400
    bol_spec.validate_component("retailer", "Problem", not_a_number.json())
    assert not item.handled
    assert [h["http_status"] for h in bol_sandbox.handlings_for(item.rma_id)] == [400, 400]

    headers = {"Authorization": "Bearer x", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON}
    bad = httpx.Request("PUT", f"{bol_sandbox.url}/retailer/returns/{item.rma_id}", headers=headers,
                        content=json.dumps({"handlingResult": "RETURN_RECEIVED", "quantityReturned": 0}))
    with pytest.raises(Exception):  # noqa: B017 - the validator refuses what the spec refuses
        bol_spec.validate_request(bad)


# ------------------------------------------------------------------ the control surface
def test_returns_control_endpoints(bol_sandbox: Sandbox, bol: BolMarketplace):
    [order] = shipped_orders(bol_sandbox, 1, items=2)
    first, second = (i.order_item_id for i in order.items)
    [unshipped] = bol_sandbox.add_orders(1, items_per_order=1)
    with httpx.Client(base_url=f"{bol_sandbox.url}/_sandbox") as control:
        created = control.post("/returns", json={"client_id": SELLER_ID, "items": [
            {"order_item_id": first, "quantity": 1, "main_reason": "Artikel werkt niet", "comments": "Doet niets"},
            {"order_item_id": second}]})
        assert created.status_code == 201
        body = created.json()
        assert len(body["rma_ids"]) == 2 and body["return"]["returnId"] == body["return_id"]
        assert body["return"]["returnItems"][0]["returnReason"] == {
            "mainReason": "Artikel werkt niet", "detailedReason": None, "customerComments": "Doet niets"}
        assert control.post("/returns", json={"client_id": SELLER_ID, "items": []}).status_code == 400
        assert control.post("/returns", json={"client_id": SELLER_ID, "items": [
            {"order_item_id": unshipped.items[0].order_item_id}]}).status_code == 409
        assert control.post("/returns", json={"client_id": OTHER_ID, "items": [
            {"order_item_id": first}]}).status_code == 404

        wait_done(bol, bol.handle_return(ReturnHandling(body["rma_ids"][0], "RETURN_RECEIVED", 1)).process_id)
        dumped = control.get("/returns", params={"client_id": SELLER_ID}).json()
        [record] = dumped["returns"]
        assert record["seller"] == SELLER_ID and [i["handled"] for i in record["returnItems"]] == [True, False]
        [handling] = dumped["handlings"]
        assert (handling["rma_id"], handling["http_status"], handling["status"]) == (body["rma_ids"][0], 202, "SUCCESS")
        assert control.get("/returns", params={"client_id": OTHER_ID}).json() == {"returns": [], "handlings": []}
        assert control.put("/faults", json={"return_fail_after_commit_next": 2}).json()["return_fail_after_commit_next"] == 2
