"""Cancellations on bol.com: buyers' cancellation requests on order items, and the real adapter's
PUT /retailer/orders/cancellation followed through its process status, against the bol sandbox
over real HTTP on 127.0.0.1, with OpenAPI validation of the traffic."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from adapters.bol import CANCELLATION_EVENT_TYPE, VENDOR_JSON, BolMarketplace
from adapters.errors import RateLimited, Rejected, Transient
from plugin.sync.ports import CancelItems, ShipmentRequest
from tests.contract.conftest_bol import OTHER_ID, SELLER_ID, SELLER_SECRET, Sandbox

PUT_CANCELLATION = "PUT /retailer/orders/cancellation"


def cancel_all(order, reason: str = "OUT_OF_STOCK") -> CancelItems:
    return CancelItems(order.order_id, tuple(i.order_item_id for i in order.items), reason)


def wait_done(marketplace: BolMarketplace, process_id: str):
    return marketplace.wait_for_process(process_id, timeout=5.0, interval=0.02)


def open_ids(marketplace: BolMarketplace) -> set[str]:
    return {s.external_id for s in marketplace.list_open_orders()}


def raw_client(sandbox: Sandbox) -> httpx.Client:
    token = httpx.post(f"{sandbox.url}/token", params={"grant_type": "client_credentials"},
                       auth=(SELLER_ID, SELLER_SECRET)).json()["access_token"]
    return httpx.Client(base_url=sandbox.url, headers={
        "Authorization": f"Bearer {token}", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON})


def cancellation_body(item_id: str, reason: str = "OUT_OF_STOCK") -> str:
    return json.dumps({"orderItems": [{"orderItemId": item_id, "reasonCode": reason}]})


# ------------------------------------------------------------------ buyers' cancellation requests
def test_buyer_cancellation_request_shows_on_the_item(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    first, second = order.items
    before = bol.get_order(order.order_id)
    assert [line.cancellation_requested for line in before.lines] == [False, False]

    with httpx.Client(base_url=f"{bol_sandbox.url}/_sandbox") as control:
        answer = control.post(f"/orders/{order.order_id}/cancellation-request",
                              json={"order_item_ids": [first.order_item_id]})
    assert answer.status_code == 200 and answer.json() == {"order_id": order.order_id,
                                                           "order_item_ids": [first.order_item_id]}

    after = bol.get_order(order.order_id)
    assert [line.cancellation_requested for line in after.lines] == [True, False]
    with raw_client(bol_sandbox) as client:
        listed = client.get("/retailer/orders").json()["orders"]
    [entry] = [o for o in listed if o["orderId"] == order.order_id]
    assert [i["cancellationRequest"] for i in entry["orderItems"]] == [True, False]
    assert order.order_id in open_ids(bol)          # a request alone does not cancel anything
    assert second.cancellation_request is False


def test_confirming_a_buyer_request_cancels_only_that_item(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    first, second = order.items
    bol_sandbox.state.request_cancellation(order.order_id, [first.order_item_id])

    started = bol.cancel_items(CancelItems(order.order_id, (first.order_item_id,), "REQUESTED_BY_CUSTOMER"))
    assert started.status == "PENDING" and not started.done
    done = wait_done(bol, started.process_id)

    assert done.status == "SUCCESS" and done.error is None
    assert (first.quantity_cancelled, first.open_quantity) == (first.quantity, 0)
    assert second.quantity_cancelled == 0
    assert order.order_id in open_ids(bol)          # the other item is still to be shipped
    [received] = bol_sandbox.cancellations_for(first.order_item_id)
    assert received["body"] == {"orderItems": [{"orderItemId": first.order_item_id,
                                                "reasonCode": "REQUESTED_BY_CUSTOMER"}]}
    assert (received["http_status"], received["status"]) == (202, "SUCCESS")


def test_cancelling_every_line_closes_the_order_one_call_per_line(bol: BolMarketplace, bol_sandbox: Sandbox):
    order, other = bol_sandbox.add_orders(2, items_per_order=3)

    started = bol.cancel_items(cancel_all(order))
    done = wait_done(bol, started.process_id)

    assert done.status == "SUCCESS"
    # bol takes one order item a call: three PUTs, three processes, followed as one.
    assert bol_sandbox.requests(PUT_CANCELLATION) == 3
    logged = [bol_sandbox.cancellations_for(i.order_item_id) for i in order.items]
    assert [len(entries) for entries in logged] == [1, 1, 1]
    assert done.process_id == ",".join(entries[0]["process_status_id"] for entries in logged)
    assert open_ids(bol) == {other.order_id}
    assert all(i.open_quantity == 0 and i.quantity_shipped == 0 for i in order.items)


def test_cancelling_a_shipped_item_fails(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=1)
    shipped = bol.wait_for_process(bol.ship(ShipmentRequest(order.order_id, (order.items[0].order_item_id,), "s1"))
                                   .process_id, timeout=5, interval=0.02)
    assert shipped.status == "SUCCESS"

    done = wait_done(bol, bol.cancel_items(cancel_all(order)).process_id)

    assert done.status == "FAILURE" and "already been shipped" in (done.error or "")
    assert order.items[0].quantity_cancelled == 0
    assert bol.find_cancellation_process(cancel_all(order)) is None      # failures don't count


def test_a_second_cancellation_is_never_sent(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=1)
    item_id = order.items[0].order_item_id
    first = wait_done(bol, bol.cancel_items(cancel_all(order)).process_id)

    again = bol.cancel_items(cancel_all(order, "OTHER"))      # e.g. a retry after a crash

    assert first.status == "SUCCESS" and again.process_id == first.process_id and again.status == "SUCCESS"
    assert bol_sandbox.requests(PUT_CANCELLATION) == 1
    # What bol itself says to a second cancellation of the same item:
    with raw_client(bol_sandbox) as client:
        second = client.put("/retailer/orders/cancellation", content=cancellation_body(item_id)).json()
    assert wait_done(bol, second["processStatusId"]).error == f"Order item {item_id} has already been cancelled."


@pytest.mark.parametrize("case", ["foreign", "unknown", "fbb"])
def test_items_the_seller_cannot_cancel_fail(bol: BolMarketplace, bol_sandbox: Sandbox, case):
    if case == "foreign":
        [order] = bol_sandbox.add_orders(1, client_id=OTHER_ID)
        request, expected = cancel_all(order), "could not be found"
    elif case == "unknown":
        request, expected = CancelItems("A000000000", ("1999999999",), "OUT_OF_STOCK"), "could not be found"
    else:
        [order] = bol_sandbox.add_orders(1, fulfilment_method="FBB")
        request, expected = cancel_all(order), "fulfilled by bol.com"

    done = wait_done(bol, bol.cancel_items(request).process_id)

    assert done.status == "FAILURE" and expected in (done.error or "")


@pytest.mark.parametrize("request_", [
    CancelItems("A1", (), "OUT_OF_STOCK"),
    CancelItems("A1", ("1",), "CHANGED_MY_MIND"),          # not a bol reason code
    CancelItems("A1", ("1", "1"), "OUT_OF_STOCK"),
    CancelItems("A1", ("",), "OUT_OF_STOCK"),
])
def test_invalid_cancellation_is_rejected_before_sending(bol: BolMarketplace, bol_sandbox: Sandbox, request_):
    with pytest.raises(Rejected):
        bol.cancel_items(request_)
    assert bol_sandbox.requests(PUT_CANCELLATION) == 0


# ------------------------------------------------------------------ unknown outcomes
def test_lost_answer_then_find_cancellation_process(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=1)
    request = cancel_all(order)
    assert bol.find_cancellation_process(request) is None
    bol_sandbox.state.configure_faults(cancellation_fail_after_commit_next=1)

    with pytest.raises(Transient):
        bol.cancel_items(request)

    found = bol.find_cancellation_process(request)
    [received] = bol_sandbox.cancellations_for(order.items[0].order_item_id)
    assert received["http_status"] == 500
    assert found is not None and found.process_id == received["process_status_id"]
    assert wait_done(bol, found.process_id).status == "SUCCESS"
    assert bol.cancel_items(request).process_id == found.process_id       # a retry does not resend
    assert bol_sandbox.requests(PUT_CANCELLATION) == 1
    assert bol_sandbox.state.stats.lost_answers == 1
    assert open_ids(bol) == set()


def test_a_cancellation_that_got_halfway_is_completed_not_repeated(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    first, second = (i.order_item_id for i in order.items)
    request = cancel_all(order)
    bol_sandbox.state.configure_faults(cancellation_fail_after_commit_next=1)

    with pytest.raises(Transient):
        bol.cancel_items(request)                    # the first line took effect, the second was never sent

    assert bol.find_cancellation_process(request) is None                  # not every line has one
    done = wait_done(bol, bol.cancel_items(request).process_id)

    assert done.status == "SUCCESS"
    assert [len(bol_sandbox.cancellations_for(i)) for i in (first, second)] == [1, 1]
    assert bol.find_cancellation_process(request).process_id == done.process_id
    assert all(i.open_quantity == 0 for i in order.items)


def test_429_and_5xx_on_cancellation_are_not_retried(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(retry_attempts=1)
    [order] = bol_sandbox.add_orders(1, items_per_order=1)
    request = cancel_all(order)
    bol_sandbox.state.group_rates["cancellations"] = (0.0, 0)     # the cancellation budget is spent

    with pytest.raises(RateLimited) as limited:
        marketplace.cancel_items(request)
    assert limited.value.retry_after >= 1
    assert list(marketplace.list_open_orders())                   # other groups are unaffected

    bol_sandbox.state.group_rates.clear()
    bol_sandbox.state.configure_faults(error_rate=1.0)
    with pytest.raises(Transient):
        marketplace.cancel_items(request)                          # the look-up first, then nothing sent
    bol_sandbox.state.configure_faults(error_rate=0.0)

    assert bol_sandbox.requests(PUT_CANCELLATION) == 1            # the 429, never retried
    assert bol_sandbox.cancellations_for(order.items[0].order_item_id) == []
    assert order.items[0].quantity_cancelled == 0


# ------------------------------------------------------------------ OpenAPI conformance
def test_adapter_cancellation_traffic_conforms_to_the_spec(bol: BolMarketplace, bol_sandbox: Sandbox,
                                                           recorder, bol_spec):
    order, other = bol_sandbox.add_orders(2, items_per_order=2)
    bol_sandbox.state.request_cancellation(other.order_id)
    assert all(line.cancellation_requested for line in bol.get_order(other.order_id).lines)
    done = wait_done(bol, bol.cancel_items(cancel_all(order)).process_id)
    wait_done(bol, bol.cancel_items(cancel_all(other, "REQUESTED_BY_CUSTOMER")).process_id)
    assert done.status == "SUCCESS" and bol.find_cancellation_process(cancel_all(order)) is not None
    list(bol.list_open_orders())

    exchanges = recorder.api_exchanges()
    puts = [e for e in exchanges if e.request.method == "PUT"]
    assert len(puts) == 4 and {e.response.status_code for e in puts} == {202}
    assert {json.loads(e.response.content)["eventType"] for e in puts} == {CANCELLATION_EVENT_TYPE}
    for exchange in exchanges:
        bol_spec.validate_request(exchange.request)
        bol_spec.validate_response(exchange.request, exchange.response)


def test_sandbox_cancellation_errors_conform_to_the_spec(bol_sandbox: Sandbox, bol_spec):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    first, second = (i.order_item_id for i in order.items)
    with raw_client(bol_sandbox) as client:
        refused = [
            client.put("/retailer/orders/cancellation", content=json.dumps({"orderItems": []})),
            client.put("/retailer/orders/cancellation", content=json.dumps({"orderItems": [
                {"orderItemId": first, "reasonCode": "OUT_OF_STOCK"},
                {"orderItemId": second, "reasonCode": "OUT_OF_STOCK"}]})),          # one item a call
            client.put("/retailer/orders/cancellation", content=cancellation_body(first, "BORED")),
            client.put("/retailer/orders/cancellation", content="{not json"),
        ]
    assert [r.status_code for r in refused] == [400, 400, 400, 400]
    for response in refused:
        bol_spec.validate_response(response.request, response)
        assert response.json()["violations"]
    assert [c["http_status"] for c in bol_sandbox.state.cancellation_log()] == [400, 400, 400, 400]
    assert all(i.quantity_cancelled == 0 for i in order.items)

    headers = {"Authorization": "Bearer x", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON}
    two_items = httpx.Request("PUT", f"{bol_sandbox.url}/retailer/orders/cancellation", headers=headers,
                              content=refused[1].request.content)
    with pytest.raises(Exception):  # noqa: B017 - the validator refuses what the spec refuses
        bol_spec.validate_request(two_items)


# ------------------------------------------------------------------ the control surface
def test_cancellation_control_endpoints(bol_sandbox: Sandbox, bol: BolMarketplace):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    with httpx.Client(base_url=f"{bol_sandbox.url}/_sandbox") as control:
        assert control.post("/orders/A000000000/cancellation-request", json={}).status_code == 404
        assert control.post(f"/orders/{order.order_id}/cancellation-request",
                            json={"order_item_ids": ["1"]}).status_code == 404
        assert control.post(f"/orders/{order.order_id}/cancellation-request",
                            json={"order_item_ids": "all"}).status_code == 400
        everything = control.post(f"/orders/{order.order_id}/cancellation-request").json()
        assert everything["order_item_ids"] == [i.order_item_id for i in order.items]

        bol_sandbox.ship_now(order)
        assert control.post(f"/orders/{order.order_id}/cancellation-request").status_code == 409

        bol_sandbox.state.configure_faults(cancellation_fail_after_commit_next=1)
        with pytest.raises(Transient):
            bol.cancel_items(CancelItems(order.order_id, (order.items[0].order_item_id,), "REQUESTED_BY_CUSTOMER"))
        time.sleep(0.1)
        [logged] = control.get("/cancellations").json()["cancellations"]
        assert logged["seller"] == SELLER_ID and logged["order_item_id"] == order.items[0].order_item_id
        assert (logged["http_status"], logged["status"]) == (500, "FAILURE")     # it was shipped meanwhile
        assert "already been shipped" in logged["error_message"] and logged["received_at"] <= time.time()
        assert control.get("/faults").json()["cancellation_fail_after_commit_next"] == 0
