"""The real bol adapter against the bol sandbox over real HTTP on 127.0.0.1, plus OpenAPI
validation of everything that crossed the wire."""

from __future__ import annotations

import base64
import json
import logging
import time
from decimal import Decimal

import httpx
import pytest

from adapters.bol import VENDOR_JSON, BolMarketplace
from adapters.errors import AuthError, NotFound, RateLimited, Rejected, Transient
from plugin.sync.ports import ShipmentRequest
from tests.contract.conftest_bol import OTHER_ID, OTHER_SECRET, SELLER_ID, SELLER_SECRET, Sandbox


def shipment_for(order, *, transporter: str | None = "TNT", tnt: str | None = "3SBOL0987654321",
                 reference: str = "ob-1") -> ShipmentRequest:
    return ShipmentRequest(
        external_order_id=order.order_id,
        line_ids=tuple(i.order_item_id for i in order.items),
        reference=reference,
        transporter_code=transporter,
        track_and_trace=tnt if transporter else None,
    )


def wait_done(marketplace: BolMarketplace, process_id: str):
    return marketplace.wait_for_process(process_id, timeout=5.0, interval=0.02)


def open_ids(marketplace: BolMarketplace) -> set[str]:
    return {s.external_id for s in marketplace.list_open_orders()}


# ------------------------------------------------------------------ orders
def test_lists_every_open_fbr_order_across_pages(bol: BolMarketplace, bol_sandbox: Sandbox):
    mine = bol_sandbox.add_orders(120)
    bol_sandbox.add_orders(3, fulfilment_method="FBB")     # bol ships these itself
    bol_sandbox.add_orders(2, client_id=OTHER_ID)          # another seller's

    summaries = list(bol.list_open_orders())

    assert sorted(s.external_id for s in summaries) == sorted(o.order_id for o in mine)
    by_id = {o.order_id: o for o in mine}
    for summary in summaries:
        assert summary.line_ids == tuple(i.order_item_id for i in by_id[summary.external_id].items)
        assert summary.placed_at is not None and summary.placed_at.utcoffset().total_seconds() == 0
    # 50 + 50 + 20: a page that is not full is the last one, no empty page is asked for
    assert bol_sandbox.requests("GET /retailer/orders") == 3


def test_get_order_maps_detail(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)

    got = bol.get_order(order.order_id)

    assert got.external_id == order.order_id
    assert got.fulfilment_method == "FBR"
    assert got.placed_at == order.placed_at
    assert [line.external_line_id for line in got.lines] == [i.order_item_id for i in order.items]
    for line, item in zip(got.lines, order.items, strict=True):
        assert line.unit_price == item.unit_price and isinstance(line.unit_price, Decimal)
        assert (line.ean, line.title, line.quantity) == (item.ean, item.title, item.quantity)
        assert line.sku == (item.offer_reference or "")
    details = order.shipment_details
    assert (got.shipping.first_name, got.shipping.last_name) == (details["firstName"], details["surname"])
    assert (got.shipping.street, got.shipping.house_number) == (details["streetName"], details["houseNumber"])
    assert (got.shipping.zip_code, got.shipping.city) == (details["zipCode"], details["city"])
    assert got.billing is not None and got.billing.email == order.billing_details["email"]


def test_unknown_or_foreign_order_is_not_found(bol: BolMarketplace, bol_sandbox: Sandbox):
    [foreign] = bol_sandbox.add_orders(1, client_id=OTHER_ID)
    with pytest.raises(NotFound):
        bol.get_order("A000000000")
    with pytest.raises(NotFound):
        bol.get_order(foreign.order_id)


# ------------------------------------------------------------------ shipments
def test_ship_with_track_and_trace_succeeds_and_closes_the_order(bol: BolMarketplace, bol_sandbox: Sandbox):
    order, other = bol_sandbox.add_orders(2)

    started = bol.ship(shipment_for(order))
    assert started.status == "PENDING" and not started.done
    done = wait_done(bol, started.process_id)

    assert done.status == "SUCCESS" and done.error is None
    [received] = bol_sandbox.shipments_for(order.order_id)
    assert received["http_status"] == 202 and received["status"] == "SUCCESS"
    assert received["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": "3SBOL0987654321"}
    assert received["body"]["shipmentReference"] == "ob-1"
    assert open_ids(bol) == {other.order_id}
    assert [i.quantity_shipped for i in order.items] == [i.quantity for i in order.items]


def test_ship_without_transport(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1)

    done = wait_done(bol, bol.ship(shipment_for(order, transporter=None)).process_id)

    assert done.status == "SUCCESS"
    [received] = bol_sandbox.shipments_for(order.order_id)
    assert "transport" not in received["body"]
    assert open_ids(bol) == set()


def test_unknown_transporter_fails_asynchronously(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1)

    started = bol.ship(shipment_for(order, transporter="POSTNL-EXPRESS"))   # not a bol code
    assert started.status == "PENDING"      # bol accepts the request, then fails the process
    done = wait_done(bol, started.process_id)

    assert done.status == "FAILURE" and "POSTNL-EXPRESS" in (done.error or "")
    assert open_ids(bol) == {order.order_id}
    assert bol.find_shipment_process(shipment_for(order)) is None      # failures don't count


def test_double_shipment_is_refused(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1)

    first = wait_done(bol, bol.ship(shipment_for(order)).process_id)
    second = wait_done(bol, bol.ship(shipment_for(order, tnt="3SBOL000000002")).process_id)

    assert first.status == "SUCCESS"
    assert second.status == "FAILURE" and "already been shipped" in (second.error or "")
    received = bol_sandbox.shipments_for(order.order_id)
    assert [r["status"] for r in received] == ["SUCCESS", "FAILURE"]
    assert [i.quantity_shipped for i in order.items] == [i.quantity for i in order.items]


def test_shipping_another_sellers_item_fails(bol: BolMarketplace, bol_sandbox: Sandbox):
    [foreign] = bol_sandbox.add_orders(1, client_id=OTHER_ID)

    done = wait_done(bol, bol.ship(shipment_for(foreign)).process_id)

    assert done.status == "FAILURE" and "could not be found" in (done.error or "")
    assert foreign.items[0].quantity_shipped == 0


def test_invalid_shipment_is_rejected_before_sending(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1)
    too_many = ShipmentRequest(order.order_id, tuple(str(n) for n in range(101)), "ob-x")
    with pytest.raises(Rejected):
        bol.ship(too_many)
    assert bol_sandbox.requests("POST /retailer/shipments") == 0


# ------------------------------------------------------------------ auth
def test_bad_credentials_raise_auth_error_without_leaking_the_secret(make_bol, bol_sandbox: Sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    marketplace = make_bol(client_secret="wrong-secret-value")

    with pytest.raises(AuthError) as excinfo:
        marketplace.check()
    with pytest.raises(AuthError):
        list(marketplace.list_open_orders())

    assert excinfo.value.status == 401
    for text in (str(excinfo.value), repr(excinfo.value), repr(marketplace), repr(marketplace.client),
                 caplog.text):
        assert "wrong-secret-value" not in text
    assert bol_sandbox.requests("GET /retailer/orders") == 0


def test_check_passes_with_good_credentials(bol: BolMarketplace):
    bol.check()


def test_token_is_cached_and_not_leaked(bol: BolMarketplace, bol_sandbox: Sandbox, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    bol_sandbox.add_orders(3)
    for _ in range(3):
        list(bol.list_open_orders())
    assert bol_sandbox.state.stats.tokens_issued == 1
    token = next(iter(bol_sandbox.state.tokens))
    assert token not in caplog.text and token not in repr(bol.client)
    assert SELLER_SECRET not in caplog.text


def test_revoked_token_is_refreshed_once_on_401(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1)
    bol.get_order(order.order_id)
    assert bol_sandbox.state.expire_tokens() == 1

    assert bol.get_order(order.order_id).external_id == order.order_id
    # A POST after a revoked token is also repeated once: a 401 means bol did not process it.
    bol_sandbox.state.expire_tokens()
    assert bol.ship(shipment_for(order)).status == "PENDING"

    stats = bol_sandbox.state.stats
    assert (stats.tokens_issued, stats.unauthorized) == (3, 2)
    assert len(bol_sandbox.shipments_for(order.order_id)) == 1


def test_token_is_renewed_before_it_expires(bol: BolMarketplace, bol_sandbox: Sandbox):
    bol_sandbox.state.token_expires_in = 1
    [order] = bol_sandbox.add_orders(1)
    bol.get_order(order.order_id)
    time.sleep(1.05)

    bol.get_order(order.order_id)

    stats = bol_sandbox.state.stats
    assert (stats.tokens_issued, stats.unauthorized) == (2, 0)      # renewed, never refused


# ------------------------------------------------------------------ rate limits and faults
def test_429_get_is_retried_after_retry_after(make_bol, bol_sandbox: Sandbox):
    slept: list[float] = []
    marketplace = make_bol(sleep=slept.append)
    [order] = bol_sandbox.add_orders(1)
    bol_sandbox.state.configure_faults(rate_limit_burst=1, rate_limit_retry_after=2)

    assert marketplace.get_order(order.order_id).external_id == order.order_id

    assert len(slept) == 1 and slept[0] >= 2.0
    assert bol_sandbox.state.stats.rate_limited == 1


def test_429_surfaces_as_rate_limited_with_retry_after(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(retry_attempts=1)
    bol_sandbox.state.configure_faults(rate_limit_burst=1, rate_limit_retry_after=3)

    with pytest.raises(RateLimited) as excinfo:
        list(marketplace.list_open_orders())

    assert excinfo.value.retry_after == 3.0


def test_token_bucket_limits_per_seller_and_post_is_not_retried(make_bol, bol_sandbox: Sandbox):
    bol_sandbox.state.rate_per_second, bol_sandbox.state.rate_burst = 0.5, 2
    mine = make_bol()
    theirs = make_bol(OTHER_ID, OTHER_SECRET)
    [order] = bol_sandbox.add_orders(1)
    mine.ship(shipment_for(order))
    mine.ship(shipment_for(order, reference="ob-2"))

    with pytest.raises(RateLimited) as excinfo:
        mine.ship(shipment_for(order, reference="ob-3"))

    assert excinfo.value.retry_after >= 1
    assert len(bol_sandbox.shipments_for(order.order_id)) == 2      # the refused one never arrived
    assert list(theirs.list_open_orders()) == []                    # other seller, other bucket


def test_5xx_is_transient(make_bol, bol_sandbox: Sandbox):
    slept: list[float] = []
    marketplace = make_bol(retry_attempts=3, sleep=slept.append)
    [order] = bol_sandbox.add_orders(1)
    bol_sandbox.state.configure_faults(error_rate=1.0)

    with pytest.raises(Transient) as excinfo:
        marketplace.get_order(order.order_id)
    assert excinfo.value.status in (500, 503)
    assert len(slept) == 2                                  # GETs are retried ...
    with pytest.raises(Transient):
        marketplace.ship(shipment_for(order))
    assert bol_sandbox.state.stats.injected_errors == 4     # ... a POST is not
    assert bol_sandbox.shipments_for(order.order_id) == []


def test_timeout_is_transient_and_the_late_shipment_is_found(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(timeout=0.25, retry_attempts=2, sleep=lambda s: None)
    [order] = bol_sandbox.add_orders(1)
    bol_sandbox.state.configure_faults(timeout_rate=1.0, timeout_sleep=0.6)

    with pytest.raises(Transient):
        marketplace.get_order(order.order_id)
    with pytest.raises(Transient):
        marketplace.ship(shipment_for(order))
    assert bol_sandbox.requests("POST /retailer/shipments") == 1    # not retried blindly

    # The slow server still processed the shipment; the retry path finds it instead of resending.
    bol_sandbox.state.configure_faults(timeout_rate=0.0)
    deadline = time.monotonic() + 3
    found = None
    while found is None and time.monotonic() < deadline:
        found = marketplace.find_shipment_process(shipment_for(order))
        time.sleep(0.05)
    assert found is not None and wait_done(marketplace, found.process_id).status == "SUCCESS"
    assert len(bol_sandbox.shipments_for(order.order_id)) == 1


def test_lost_answer_then_find_shipment_process(bol: BolMarketplace, bol_sandbox: Sandbox):
    [order] = bol_sandbox.add_orders(1, items_per_order=2)
    request = shipment_for(order)
    assert bol.find_shipment_process(request) is None
    bol_sandbox.state.configure_faults(fail_after_commit_next=1)

    with pytest.raises(Transient):
        bol.ship(request)

    found = bol.find_shipment_process(request)
    [received] = bol_sandbox.shipments_for(order.order_id)
    assert received["http_status"] == 500
    assert found is not None and found.process_id == received["process_status_id"]
    assert wait_done(bol, found.process_id).status == "SUCCESS"
    assert bol_sandbox.state.stats.lost_answers == 1
    assert open_ids(bol) == set()


# ------------------------------------------------------------------ OpenAPI conformance
def test_adapter_traffic_conforms_to_the_published_spec(bol: BolMarketplace, bol_sandbox: Sandbox,
                                                        recorder, bol_spec):
    orders = bol_sandbox.add_orders(55)
    summaries = list(bol.list_open_orders())
    detail = bol.get_order(summaries[0].external_id)
    by_id = {o.order_id: o for o in orders}
    with_tnt = bol.ship(shipment_for(by_id[detail.external_id]))
    without = bol.ship(shipment_for(by_id[summaries[1].external_id], transporter=None))
    wait_done(bol, with_tnt.process_id)
    wait_done(bol, without.process_id)
    assert bol.find_shipment_process(shipment_for(by_id[detail.external_id])) is not None
    bol.check()

    exchanges = recorder.api_exchanges()
    seen = {(e.request.method, e.request.url.path.rsplit("/", 1)[0]) for e in exchanges}
    assert {("GET", "/retailer"), ("GET", "/retailer/orders"), ("POST", "/retailer"),
            ("GET", "/shared/process-status"), ("GET", "/shared")} <= seen
    for exchange in exchanges:
        assert exchange.request.headers["accept"] == VENDOR_JSON
        assert exchange.response.headers["content-type"] == VENDOR_JSON
        bol_spec.validate_request(exchange.request)
        bol_spec.validate_response(exchange.request, exchange.response)


def _raw(bol_sandbox: Sandbox, client_id: str = SELLER_ID, secret: str = SELLER_SECRET) -> httpx.Client:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = httpx.post(f"{bol_sandbox.url}/token", params={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"}).json()["access_token"]
    return httpx.Client(base_url=bol_sandbox.url, headers={
        "Authorization": f"Bearer {token}", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON})


def test_sandbox_errors_conform_to_the_published_spec(bol_sandbox: Sandbox, bol_spec):
    [order] = bol_sandbox.add_orders(1)
    with _raw(bol_sandbox) as client:
        documented = [
            client.get("/retailer/orders/A000000000"),                               # 404
            client.get("/shared/process-status/999"),                                # 404
            client.post("/retailer/shipments", content=json.dumps({"orderItems": []})),   # 400
            client.post("/retailer/shipments", content=json.dumps(
                {"orderItems": [{"orderItemId": str(n)} for n in range(101)]})),     # 400
            client.post("/retailer/shipments", content=json.dumps(
                {"orderItems": [{"orderItemId": order.items[0].order_item_id}], "shipmentReference": ""})),
            client.get("/shared/process-status", params={"entity-id": "1"}),         # 400
        ]
        assert [r.status_code for r in documented] == [404, 404, 400, 400, 400, 400]
        for response in documented:
            bol_spec.validate_response(response.request, response)
            assert response.json()["violations"] or response.status_code == 404

        bol_sandbox.state.configure_faults(rate_limit_burst=1)
        limited = client.get("/retailer/orders")
        bol_sandbox.state.configure_faults(error_rate=1.0)
        broken = client.get("/retailer/orders")
        bol_sandbox.state.configure_faults(error_rate=0.0)
        not_acceptable = client.get("/retailer/orders", headers={"Accept": "application/json"})
        unauthorized = client.get("/retailer/orders", headers={"Authorization": "Bearer nope"})

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert broken.status_code in (500, 503)
    assert not_acceptable.status_code == 406 and unauthorized.status_code == 401
    for response in (limited, broken, not_acceptable, unauthorized):
        assert response.headers["content-type"] == VENDOR_JSON
        bol_spec.validate_component("retailer", "Problem", response.json())


def test_spec_validation_is_not_vacuous(bol_sandbox: Sandbox, bol_spec):
    """The validator must refuse what the spec refuses, or the conformance tests prove nothing."""
    url = bol_sandbox.url
    headers = {"Authorization": "Bearer x", "Accept": VENDOR_JSON, "Content-Type": VENDOR_JSON}
    bad_requests = [
        httpx.Request("GET", f"{url}/shared/process-status",
                      params={"entity-id": "1", "event-type": "CONFIRM_SHIPMENT"}, headers=headers),
        httpx.Request("POST", f"{url}/retailer/shipments", headers=headers,
                      content=json.dumps({"orderItems": [{"orderItemId": "1"}], "transport": None})),
        httpx.Request("GET", f"{url}/retailer/orders", headers={"Accept": VENDOR_JSON}),     # no bearer
    ]
    for request in bad_requests:
        with pytest.raises(Exception):  # noqa: B017 - openapi-core raises several error types
            bol_spec.validate_request(request)
    request = httpx.Request("GET", f"{url}/retailer/orders/X", headers=headers)
    bad = httpx.Response(404, json={"type": "x", "title": "t", "status": 404, "detail": "d"},
                         headers={"content-type": VENDOR_JSON}, request=request)
    with pytest.raises(Exception):  # noqa: B017
        bol_spec.validate_response(request, bad)


# ------------------------------------------------------------------ the sandbox's control surface
def test_control_endpoints(bol_sandbox: Sandbox, make_bol):
    with httpx.Client(base_url=f"{bol_sandbox.url}/_sandbox") as control:
        assert control.post("/sellers", json={"client_id": "shop-3", "client_secret": "pw-3"}).status_code == 201
        assert control.post("/sellers", json={"client_id": "shop-4"}).status_code == 400
        assert "shop-3" in control.get("/sellers").json()["sellers"]
        created = control.post("/orders", json={"client_id": "shop-3", "count": 2, "items_per_order": 2}).json()
        assert len(created["order_ids"]) == 2
        assert all(len(ids) == 2 for ids in created["order_item_ids"].values())
        assert control.post("/orders", json={"client_id": "nobody", "count": 1}).status_code == 404

        marketplace = make_bol("shop-3", "pw-3")
        assert {s.external_id for s in marketplace.list_open_orders()} == set(created["order_ids"])
        order_id = created["order_ids"][0]
        process = marketplace.ship(ShipmentRequest(order_id, tuple(created["order_item_ids"][order_id]), "ob-9"))
        wait_done(marketplace, process.process_id)

        [logged] = control.get("/shipments").json()["shipments"]
        assert logged["order_id"] == order_id and logged["status"] == "SUCCESS"
        assert logged["seller"] == "shop-3" and logged["received_at"] <= time.time()

        assert control.put("/faults", json={"error_rate": 1.5}).status_code == 400
        assert control.put("/faults", json={"bogus": 1}).status_code == 400
        faults = control.put("/faults", json={"latency_ms": 1, "rate_limit_burst": 1}).json()
        assert faults["latency_ms"] == 1 and control.get("/faults").json() == faults
        with pytest.raises(RateLimited):
            make_bol("shop-3", "pw-3", retry_attempts=1).get_order(order_id)

        settings = control.put("/settings", json={"process_delay": 0.01}).json()
        assert settings["process_delay"] == 0.01 and control.get("/settings").json() == settings
        assert control.post("/tokens/expire").json()["expired"] >= 1

        stats = control.get("/stats").json()
        assert stats["rate_limited"] == 1 and stats["requests"]["GET /retailer/orders"] == 1   # one page: not full, so the last
        assert stats["requests"]["POST /retailer/shipments"] == 1
