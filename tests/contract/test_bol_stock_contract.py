"""Stock on bol.com: the real adapter's offer look-ups and stock updates (Offers API v11) against
the bol sandbox over real HTTP on 127.0.0.1, with OpenAPI validation of the traffic against
offers-v11.json."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from adapters.bol import VENDOR_JSON, VENDOR_JSON_V11, BolMarketplace
from adapters.errors import NotFound, RateLimited, Rejected, TimedOut, Transient
from plugin.sync.ports import OfferStock
from tests.contract.conftest_bol import OTHER_ID, SELLER_ID, SELLER_SECRET, Sandbox


def ean13(n: int) -> str:
    body = f"87{n:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def raw_client(sandbox: Sandbox, media_type: str = VENDOR_JSON_V11) -> httpx.Client:
    token = httpx.post(f"{sandbox.url}/token", params={"grant_type": "client_credentials"},
                       auth=(SELLER_ID, SELLER_SECRET)).json()["access_token"]
    return httpx.Client(base_url=sandbox.url, headers={
        "Authorization": f"Bearer {token}", "Accept": media_type, "Content-Type": media_type})


# ------------------------------------------------------------------ finding offers
def test_find_offers_by_ean_and_by_reference(bol: BolMarketplace, bol_sandbox: Sandbox):
    lamp, book, _ = bol_sandbox.add_offers({"ean": ean13(1), "reference": "SKU-1", "stock": 4},
                                           {"ean": ean13(2), "reference": "SKU-2"},
                                           {"ean": ean13(3)})
    bol_sandbox.add_offers({"ean": ean13(1), "reference": "SKU-1"}, client_id=OTHER_ID)   # not ours

    found = bol.find_offers(eans=(ean13(1), ean13(2), ean13(99)))

    assert sorted((o.offer_id, o.ean, o.reference) for o in found) == sorted(
        [(lamp.offer_id, ean13(1), "SKU-1"), (book.offer_id, ean13(2), "SKU-2")])
    by_id = {o.offer_id: o for o in found}
    assert by_id[lamp.offer_id].stock == 4 and by_id[lamp.offer_id].managed_by_retailer is True
    [by_reference] = bol.find_offers(reference="SKU-2")
    assert by_reference.offer_id == book.offer_id
    assert bol.find_offers(eans=(ean13(1),), reference="SKU-2") == []      # both filters apply
    assert bol.find_offers() == []                                         # nothing asked, nothing listed
    assert bol_sandbox.requests("GET /retailer/offers") == 3


def test_find_offers_asks_fifty_eans_at_a_time(bol: BolMarketplace, bol_sandbox: Sandbox, recorder):
    offers = bol_sandbox.add_offers(*({"ean": ean13(n)} for n in range(120)))

    found = bol.find_offers(eans=tuple(ean13(n) for n in range(130)))

    assert {o.offer_id for o in found} == {o.offer_id for o in offers}
    calls = [e for e in recorder.api_exchanges() if e.request.url.path == "/retailer/offers"]
    assert [len(e.request.url.params.get_list("eans")) for e in calls] == [50, 50, 30]


def test_list_offers_follows_the_cursor(bol: BolMarketplace, bol_sandbox: Sandbox, recorder):
    offers = bol_sandbox.add_offers(*({"ean": ean13(n), "stock": n % 7} for n in range(230)))
    bol_sandbox.add_offers({"ean": ean13(1)}, client_id=OTHER_ID)

    listed = list(bol.list_offers())

    assert [o.offer_id for o in listed] == [o.offer_id for o in offers]
    assert [o.stock for o in listed] == [n % 7 for n in range(230)]
    calls = [e for e in recorder.api_exchanges() if e.request.url.path == "/retailer/offers"]
    assert len(calls) == 3                                   # 100 + 100 + 30, the last without nextCursor
    assert "cursor" not in calls[0].request.url.params and calls[1].request.url.params["cursor"]
    assert [json.loads(e.response.content)["page"]["nextCursor"] is None for e in calls] == [False, False, True]


def test_get_offer_and_unknown_offer(bol: BolMarketplace, bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(5), "stock": 2})
    [foreign] = bol_sandbox.add_offers({"ean": ean13(5)}, client_id=OTHER_ID)

    assert bol.get_offer(offer.offer_id).stock == 2
    with pytest.raises(NotFound):
        bol.get_offer(foreign.offer_id)
    with pytest.raises(NotFound):
        bol.update_stock(OfferStock(foreign.offer_id, 1))
    assert foreign.stock_amount == 0


# ------------------------------------------------------------------ updating stock
def test_update_stock_is_applied_at_once_and_recorded(bol: BolMarketplace, bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(7), "stock": 1, "managed_by_retailer": False})

    result = bol.update_stock(OfferStock(offer.offer_id, 12))

    assert result.done and result.status == "SUCCESS" and result.error is None   # v11: 204, no process
    assert (offer.stock_amount, offer.managed_by_retailer) == (12, True)
    [update] = bol_sandbox.stock_updates(offer.offer_id)
    assert update.http_status == 204 and update.applied
    assert update.body == {"stock": {"amount": 12, "managedByRetailer": True}}
    assert bol.get_offer(offer.offer_id).stock == 12


def test_update_stock_is_idempotent(bol: BolMarketplace, bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(8), "stock": 5})

    for _ in range(2):
        assert bol.update_stock(OfferStock(offer.offer_id, 3)).status == "SUCCESS"
    bol.update_stock(OfferStock(offer.offer_id, 0))        # sold out is a value like any other

    assert [u.body["stock"]["amount"] for u in bol_sandbox.stock_updates(offer.offer_id)] == [3, 3, 0]
    assert offer.stock_amount == 0 and bol.get_offer(offer.offer_id).stock == 0


def test_corrected_stock_follows_managed_by_retailer(bol: BolMarketplace, bol_sandbox: Sandbox):
    """offers-v11.json: managedByRetailer true counts only open orders placed after the last offer
    update, false counts all open orders; shipped or cancelled quantities never count."""
    [offer] = bol_sandbox.add_offers({"ean": ean13(9), "stock": 10})
    bol_sandbox.order_of((offer, 2))                           # before the update
    shipped = bol_sandbox.order_of((offer, 4))
    bol_sandbox.ship_now(shipped)
    time.sleep(0.01)

    bol.update_stock(OfferStock(offer.offer_id, 10, managed_by_retailer=True))
    assert bol_sandbox.state.corrected_stock(offer) == 10      # the earlier order is in the amount
    bol_sandbox.order_of((offer, 3))                           # after the update
    assert bol_sandbox.state.corrected_stock(offer) == 7

    bol.update_stock(OfferStock(offer.offer_id, 10, managed_by_retailer=False))
    assert bol_sandbox.state.corrected_stock(offer) == 5       # every open order: 10 - 2 - 3
    bol.update_stock(OfferStock(offer.offer_id, 1, managed_by_retailer=False))
    assert bol_sandbox.state.corrected_stock(offer) == 0       # never below zero
    with raw_client(bol_sandbox) as client:
        shown = client.get(f"/retailer/offers/{offer.offer_id}").json()
    assert shown["stock"] == {"amount": 1, "correctedStock": 0, "managedByRetailer": False}
    assert shown["countryAvailabilities"] == [{"countryCode": "NL", "forSale": False}]


def test_invalid_stock_is_rejected_before_sending(bol: BolMarketplace, bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(10)})
    for update in (OfferStock(offer.offer_id, -1), OfferStock("", 1)):
        with pytest.raises(Rejected):
            bol.update_stock(update)
    assert bol_sandbox.requests("PATCH /retailer/offers/<offer_id>") == 0


# ------------------------------------------------------------------ rate limits and faults
def test_offer_updates_have_their_own_rate_limit_and_429_is_not_retried(make_bol, bol_sandbox: Sandbox):
    bol_sandbox.state.group_rates["offer-updates"] = (0.5, 2)
    marketplace = make_bol()
    [offer] = bol_sandbox.add_offers({"ean": ean13(11)})
    marketplace.update_stock(OfferStock(offer.offer_id, 1))
    marketplace.update_stock(OfferStock(offer.offer_id, 2))

    with pytest.raises(RateLimited) as excinfo:
        marketplace.update_stock(OfferStock(offer.offer_id, 3))

    assert excinfo.value.retry_after >= 1
    assert offer.stock_amount == 2                              # the refused update never arrived
    assert len(bol_sandbox.stock_updates(offer.offer_id)) == 2
    assert bol_sandbox.requests("PATCH /retailer/offers/<offer_id>") == 3     # one attempt, no retry
    assert marketplace.get_offer(offer.offer_id).stock == 2     # reads are another group
    assert list(marketplace.list_open_orders()) == []           # and so are orders


def test_forced_429_on_offer_reads_is_retried_after_retry_after(make_bol, bol_sandbox: Sandbox):
    slept: list[float] = []
    marketplace = make_bol(sleep=slept.append)
    [offer] = bol_sandbox.add_offers({"ean": ean13(12)})
    bol_sandbox.state.configure_faults(rate_limit_burst=1, rate_limit_retry_after=2)

    assert [o.offer_id for o in marketplace.find_offers(eans=(ean13(12),))] == [offer.offer_id]
    assert slept and slept[0] >= 2.0


def test_5xx_on_update_is_transient_and_not_retried(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(retry_attempts=2, sleep=lambda s: None)
    [offer] = bol_sandbox.add_offers({"ean": ean13(13), "stock": 4})
    bol_sandbox.state.configure_faults(error_rate=1.0)

    with pytest.raises(Transient) as excinfo:
        marketplace.update_stock(OfferStock(offer.offer_id, 9))
    assert excinfo.value.status in (500, 503)
    with pytest.raises(Transient):
        list(marketplace.list_offers())

    assert bol_sandbox.state.stats.injected_errors == 3         # 1 PATCH + 2 tries of the GET
    assert offer.stock_amount == 4


def test_lost_answer_then_resend_the_same_value(bol: BolMarketplace, bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(14), "stock": 4})
    bol_sandbox.state.configure_faults(offer_fail_after_commit_next=1)

    with pytest.raises(Transient):
        bol.update_stock(OfferStock(offer.offer_id, 6))
    assert offer.stock_amount == 6                              # applied; only the answer was lost

    assert bol.update_stock(OfferStock(offer.offer_id, 6)).status == "SUCCESS"    # idempotent resend
    assert [(u.http_status, u.applied) for u in bol_sandbox.stock_updates(offer.offer_id)] == [(500, True), (204, True)]
    assert bol_sandbox.state.stats.lost_answers == 1 and offer.stock_amount == 6


def test_timeout_is_timed_out_and_the_update_lands_anyway(make_bol, bol_sandbox: Sandbox):
    marketplace = make_bol(timeout=0.25)
    [offer] = bol_sandbox.add_offers({"ean": ean13(15)})
    bol_sandbox.state.configure_faults(timeout_rate=1.0, timeout_sleep=0.5)

    with pytest.raises(TimedOut):
        marketplace.update_stock(OfferStock(offer.offer_id, 8))

    deadline = time.monotonic() + 3
    while offer.stock_amount != 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert offer.stock_amount == 8


# ------------------------------------------------------------------ media type and OpenAPI conformance
def test_offers_speak_v11_only(bol_sandbox: Sandbox):
    [offer] = bol_sandbox.add_offers({"ean": ean13(16)})
    with raw_client(bol_sandbox, VENDOR_JSON) as client:
        refused = client.get("/retailer/offers")
        patched = client.patch(f"/retailer/offers/{offer.offer_id}", headers={"Accept": VENDOR_JSON_V11},
                               content=json.dumps({"stock": {"amount": 1}}))
    assert refused.status_code == 406 and VENDOR_JSON_V11 in refused.json()["detail"]
    assert refused.headers["content-type"] == VENDOR_JSON_V11
    assert patched.status_code == 415 and offer.stock_amount == 0


def test_adapter_traffic_conforms_to_offers_v11(bol: BolMarketplace, bol_sandbox: Sandbox, recorder, bol_spec):
    offers = bol_sandbox.add_offers(*({"ean": ean13(n), "reference": f"SKU-{n}"} for n in range(105)))
    bol.find_offers(eans=(ean13(1), ean13(2)))
    bol.find_offers(reference="SKU-3")
    list(bol.list_offers())
    bol.get_offer(offers[0].offer_id)
    bol.update_stock(OfferStock(offers[0].offer_id, 5))
    bol.update_stock(OfferStock(offers[1].offer_id, 0, managed_by_retailer=False))

    exchanges = recorder.api_exchanges()
    assert {(e.request.method, e.response.status_code) for e in exchanges} == {("GET", 200), ("PATCH", 204)}
    for exchange in exchanges:
        assert exchange.request.headers["accept"] == VENDOR_JSON_V11
        assert exchange.response.headers["content-type"] == VENDOR_JSON_V11
        bol_spec.validate_request(exchange.request)
        bol_spec.validate_response(exchange.request, exchange.response)


def test_sandbox_offer_errors_conform_to_the_spec(bol_sandbox: Sandbox, bol_spec):
    [offer] = bol_sandbox.add_offers({"ean": ean13(17)})
    with raw_client(bol_sandbox) as client:
        documented = [
            client.get("/retailer/offers", params={"eans": [ean13(n) for n in range(51)]}),     # 400
            client.get("/retailer/offers", params={"page-size": 101}),                          # 400
            client.get("/retailer/offers", params={"cursor": "not-a-cursor"}),                  # 400
            client.get("/retailer/offers/6ff736b5-cdd0-4150-8c67-78269ee986f5"),                # 404
            client.patch(f"/retailer/offers/{offer.offer_id}",
                         content=json.dumps({"stock": {"amount": -1}})),                        # 400
        ]
        not_found_patch = client.patch("/retailer/offers/6ff736b5-cdd0-4150-8c67-78269ee986f5",
                                       content=json.dumps({"stock": {"amount": 1}}))
    assert [r.status_code for r in documented] == [400, 400, 400, 404, 400]
    for response in documented:
        assert response.headers["content-type"] == VENDOR_JSON_V11
        bol_spec.validate_response(response.request, response)
    assert not_found_patch.status_code == 404        # the spec lists no 404 for PATCH; still a Problem
    bol_spec.validate_component("offers", "Problem", not_found_patch.json())
    assert offer.stock_amount == 0
    assert [u.http_status for u in bol_sandbox.stock_updates(offer.offer_id)] == [400]


def test_offers_spec_validation_is_not_vacuous(bol_sandbox: Sandbox, bol_spec):
    url = bol_sandbox.url
    headers = {"Authorization": "Bearer x", "Accept": VENDOR_JSON_V11, "Content-Type": VENDOR_JSON_V11}
    offer_url = f"{url}/retailer/offers/6ff736b5-cdd0-4150-8c67-78269ee986f5"
    bad_requests = [
        httpx.Request("GET", f"{url}/retailer/offers", params={"page-size": 500}, headers=headers),
        httpx.Request("PATCH", offer_url, headers=headers, content=json.dumps({"stock": {"amount": "many"}})),
        httpx.Request("PATCH", f"{url}/retailer/offers/not-a-uuid", headers=headers, content=b"{}"),
    ]
    for request in bad_requests:
        with pytest.raises(Exception):  # noqa: B017 - openapi-core raises several error types
            bol_spec.validate_request(request)
    request = httpx.Request("GET", offer_url, headers=headers)
    bad = httpx.Response(200, json={"offerId": "6ff736b5-cdd0-4150-8c67-78269ee986f5"},   # required fields missing
                         headers={"content-type": VENDOR_JSON_V11}, request=request)
    with pytest.raises(Exception):  # noqa: B017
        bol_spec.validate_response(request, bad)


# ------------------------------------------------------------------ control surface
def test_offer_control_endpoints(bol_sandbox: Sandbox, make_bol):
    with httpx.Client(base_url=f"{bol_sandbox.url}/_sandbox") as control:
        created = control.post("/offers", json={"client_id": SELLER_ID, "offers": [
            {"ean": ean13(20), "reference": "WC-20", "stock": 3, "title": "Lamp", "unit_price": 19.95},
            {"ean": ean13(21), "managed_by_retailer": False},
        ]})
        assert created.status_code == 201
        lamp, book = created.json()["offers"]
        assert (lamp["ean"], lamp["reference"], lamp["title"], lamp["seller"]) == (ean13(20), "WC-20", "Lamp", SELLER_ID)
        assert lamp["stock"] == {"amount": 3, "correctedStock": 3, "managedByRetailer": True}
        assert lamp["pricing"]["bundlePrices"] == [{"quantity": 1, "unitPrice": 19.95}]
        assert book["stock"]["managedByRetailer"] is False and "reference" not in book
        assert control.post("/offers", json={"client_id": SELLER_ID, "offers": [{"ean": ean13(20)}]}).status_code == 409
        assert control.post("/offers", json={"client_id": SELLER_ID, "offers": [{"ean": ""}]}).status_code == 400
        assert control.post("/offers", json={"client_id": "nobody", "count": 1}).status_code == 404
        assert len(control.post("/offers", json={"client_id": OTHER_ID, "count": 3}).json()["offers"]) == 3

        order = control.post("/orders", json={"client_id": SELLER_ID, "lines": [
            {"ean": ean13(20), "quantity": 2}, {"offer_id": book["offerId"]}]}).json()
        [order_id] = order["order_ids"]
        assert control.post("/orders", json={"client_id": SELLER_ID, "lines": [{"ean": "nope"}]}).status_code == 400
        random_orders = control.post("/orders", json={"client_id": OTHER_ID, "count": 4, "from_offers": True}).json()
        assert len(random_orders["order_ids"]) == 4

        marketplace = make_bol()
        detail = marketplace.get_order(order_id)
        assert [(line.ean, line.quantity, line.sku) for line in detail.lines] == [
            (ean13(20), 2, "WC-20"), (ean13(21), 1, "")]
        marketplace.update_stock(OfferStock(lamp["offerId"], 7))
        marketplace.update_stock(OfferStock(lamp["offerId"], 5))

        dumped = control.get("/offers", params={"client_id": SELLER_ID}).json()
        lamp_now = next(o for o in dumped["offers"] if o["offerId"] == lamp["offerId"])
        assert lamp_now["stock"]["amount"] == 5
        assert [u["body"]["stock"]["amount"] for u in lamp_now["updates"]] == [7, 5]
        assert all(u["http_status"] == 204 and u["applied"] for u in lamp_now["updates"])
        assert len(dumped["updates"]) == 2
        assert len(control.get("/offers").json()["offers"]) == 5

        settings = control.put("/settings", json={"group_rates": {"offer-updates": {
            "rate_per_second": 2, "rate_burst": 4}}}).json()
        assert settings["group_rates"] == {"offer-updates": {"rate_per_second": 2.0, "rate_burst": 4}}
        assert control.put("/settings", json={"group_rates": {"nonsense": {}}}).status_code == 400
        assert control.put("/settings", json={"group_rates": {"offer-updates": None}}).json()["group_rates"] == {}
        assert control.put("/faults", json={"offer_fail_after_commit_next": 1}).json()["offer_fail_after_commit_next"] == 1
