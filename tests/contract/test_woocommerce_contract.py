"""The real WooCommerceShop against the WooCommerce sandbox over HTTP on loopback."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from adapters.errors import AuthError, NotFound, RateLimited, Rejected, Transient
from adapters.woocommerce import WooClient, WooCommerceShop, parse_delivery, verify_signature
from plugin.sync.ports import Address, MarketplaceLine, ShopOrderDraft, Tracking
from sandbox.woocommerce.orders import create_order, set_status
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    running_sandbox,
    shop_for,
)

WEBHOOK_SECRET = "whsec_7f3a9c1e"
TOPICS = ("order.updated", "order.created")


def draft(ref: str = "ob-1", external_id: str = "1043946570", status: str = "processing") -> ShopOrderDraft:
    address = Address(first_name="Anna", last_name="de Vries", street="Kerkstraat", house_number="12",
                      house_number_ext="A", zip_code="1234 AB", city="Utrecht", country_code="NL",
                      email="anna@example.nl", phone="0612345678")
    lines = (MarketplaceLine("2012345678", "8712345678901", "Koffiemolen", 2, Decimal("24.95"), sku="KM-1"),
             MarketplaceLine("2012345679", "8712345678918", "Filters", 1, Decimal("3.50")))
    return ShopOrderDraft(ref=ref, marketplace="bol", external_id=external_id, status=status,
                          lines=lines, shipping=address)


# ---------------------------------------------------------------------------- orders
def test_create_get_and_find_by_ref(woo_sandbox, woo_shop):
    started = woo_sandbox.clock()
    created = woo_shop.create_order(draft("ob-1"))
    assert created.ref == "ob-1" and created.status == "processing"
    assert created.number == str(created.id)
    assert created.date_created == started

    fetched = woo_shop.get_order(created.id)
    assert fetched == created

    woo_shop.create_order(draft("ob-2", external_id="2"))
    found = woo_shop.find_order_by_ref("ob-1", created_after=started)
    assert found is not None and found.id == created.id
    assert woo_shop.find_order_by_ref("ob-unknown", created_after=started) is None

    stored = woo_sandbox.control("GET", "orders").json()
    first = next(o for o in stored if o["id"] == created.id)
    assert first["shipping"]["address_1"] == "Kerkstraat 12 A"
    # 9.x stores the created_via a REST create sends (7.8.2 forced "rest-api": test_woocommerce_spec_rest.py)
    assert first["total"] == "53.40" and first["created_via"] == "orderbridge"
    assert [li["name"] for li in first["line_items"]] == ["Koffiemolen", "Filters"]


def test_unknown_order_is_not_found(woo_shop):
    with pytest.raises(NotFound):
        woo_shop.get_order(999_999)


def test_invalid_order_is_rejected(woo_shop):
    with pytest.raises(Rejected) as caught:
        woo_shop.create_order(draft(status="shipped"))
    assert caught.value.status == 400 and "rest_invalid_param" in str(caught.value)


def test_lost_answer_is_transient_and_the_order_is_found_by_ref(woo_sandbox, woo_shop):
    started = woo_sandbox.clock()
    woo_shop.create_order(draft("ob-other", external_id="9"))
    woo_sandbox.faults(fail_after_commit_next=1)

    with pytest.raises(Transient):
        woo_shop.create_order(draft("ob-lost"))

    found = woo_shop.find_order_by_ref("ob-lost", created_after=started)
    stored = [o for o in woo_sandbox.control("GET", "orders").json()
              if any(m["key"] == "_orderbridge_ref" and m["value"] == "ob-lost" for m in o["meta_data"])]
    assert len(stored) == 1
    assert found is not None and found.id == stored[0]["id"]


def _checkout_orders(state, count: int) -> None:
    """The shop's own orders, placed at its checkout (created_via "checkout")."""
    with state.lock:
        for i in range(count):
            order = create_order(state, {"status": "processing", "billing": {"email": f"buyer{i}@example.nl"}})
            order.created_via = "checkout"


@pytest.mark.parametrize("version, told, pages", [("9.9.5", "9.9.5", 2), ("9.9.5", None, 3), ("7.8.2", "7.8.2", 3)])
def test_find_by_ref_skips_the_shops_checkout_orders_where_the_shop_can_filter(version, told, pages):
    """From 9.9 GET /orders filters on created_via: the look-up reads our orders only (one page
    per pass, the second pass is the Trash). 7.8 has no such argument, nor is it sent to a shop
    whose version is not known: the look-up pages through the shop's 150 checkout orders as
    before. Either way the ref decides, and an order created before an upgrade (created_via
    "rest-api") is still found."""
    with running_sandbox(wc_version=version) as sandbox:
        shop = shop_for(sandbox, wc_version=told)
        started = sandbox.clock()
        _checkout_orders(sandbox.state, 150)
        ours = shop.create_order(draft("ob-busy"))
        with sandbox.state.lock:
            before = create_order(sandbox.state, {"status": "processing", "meta_data": [
                {"key": "_orderbridge_ref", "value": "ob-before-upgrade"}]})
            before.created_via = "rest-api"
        assert sandbox.state.stores_created_via is (version == "9.9.5")

        reads = sandbox.state.stats["GET /wp-json/wc/v3/orders"]
        assert shop.find_order_by_ref("ob-none", created_after=started) is None
        assert sandbox.state.stats["GET /wp-json/wc/v3/orders"] - reads == pages
        assert shop.find_order_by_ref("ob-busy", created_after=started).id == ours.id
        assert shop.find_order_by_ref("ob-before-upgrade", created_after=started).id == before.id


def test_find_by_ref_also_sees_a_trashed_order(woo_sandbox, woo_shop):
    started = woo_sandbox.clock()
    created = woo_shop.create_order(draft("ob-trashed"))
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, allow_private_hosts=True)
    client.delete(f"orders/{created.id}")
    found = woo_shop.find_order_by_ref("ob-trashed", created_after=started)
    assert found is not None and found.id == created.id and found.status == "trash"


def test_orders_modified_after_pages_through_every_change(woo_sandbox, woo_shop):
    state, clock = woo_sandbox.state, woo_sandbox.clock
    with state.lock:
        ids = [create_order(state, {"status": "processing", "line_items": [{"sku": f"S{i}", "quantity": 1}]}).id
               for i in range(230)]
    since = clock.advance(60)
    with state.lock:
        # Changed in the very second of `since`: must be included (WooCommerce keeps whole seconds).
        for order_id in ids[:150]:
            set_status(state, state.orders[order_id], "completed")
    clock.advance(5)
    with state.lock:
        set_status(state, state.orders[ids[200]], "on-hold")
    before = state.stats["GET /wp-json/wc/v3/orders"]

    changed = list(woo_shop.orders_modified_after(since))

    assert sorted(o.id for o in changed) == sorted(ids[:150] + [ids[200]])
    assert len({o.id for o in changed}) == len(changed)
    assert state.stats["GET /wp-json/wc/v3/orders"] - before == 2      # 151 orders, 100 a page


def test_tracking_after_the_merchant_completes_the_order(woo_sandbox):
    shop = WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=1,
                           tracking_meta_keys=("_tracking_number",), allow_private_hosts=True)
    order = shop.create_order(draft("ob-tt"))
    assert order.tracking == ()

    woo_sandbox.control("POST", f"orders/{order.id}/complete",
                        {"tracking_provider": "PostNL", "tracking_number": "3SABCD1234567"})
    completed = shop.get_order(order.id)
    assert completed.status == "completed"
    assert completed.tracking == (Tracking("postnl", "3SABCD1234567"),)

    woo_sandbox.control("POST", f"orders/{order.id}/tracking",
                        {"tracking_provider": "Budbee", "tracking_number": "BB123"})
    WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True).put(
        f"orders/{order.id}", {"meta_data": [{"key": "_tracking_number", "value": "JVGL0001"}]})
    assert shop.get_order(order.id).tracking == (
        Tracking("postnl", "3SABCD1234567"), Tracking("Budbee", "BB123"), Tracking("", "JVGL0001"))


def test_shipment_tracking_rest_endpoint(woo_sandbox, woo_shop):
    order = woo_shop.create_order(draft("ob-st"))
    url = f"{woo_sandbox.url}/wp-json/wc-shipment-tracking/v3/orders/{order.id}/shipment-trackings"
    answer = requests.post(url, json={"tracking_provider": "DHL Parcel", "tracking_number": "JJD000"},
                           auth=(CONSUMER_KEY, CONSUMER_SECRET), timeout=5)
    assert answer.status_code == 201
    assert answer.json()["tracking_provider"] == "DHL Parcel"
    assert woo_shop.get_order(order.id).tracking == (Tracking("dhl-parcel", "JJD000"),)
    listed = requests.get(url, auth=(CONSUMER_KEY, CONSUMER_SECRET), timeout=5).json()
    assert [item["tracking_number"] for item in listed] == ["JJD000"]


# ---------------------------------------------------------------------------- errors
def test_bad_credentials_are_auth_errors(woo_sandbox):
    for key, secret in ((CONSUMER_KEY, "cs_wrong"), ("ck_unknown", CONSUMER_SECRET)):
        shop = WooCommerceShop(woo_sandbox.url, key, secret, timeout=2, read_attempts=1,
                               allow_private_hosts=True)
        with pytest.raises(AuthError) as caught:
            shop.check()
        assert caught.value.status == 401
        assert "cs_wrong" not in str(caught.value) and CONSUMER_SECRET not in str(caught.value)


def test_unreachable_shop_is_transient_and_the_message_has_no_secrets():
    with socket.socket() as probe:                     # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shop = WooCommerceShop(f"http://127.0.0.1:{port}", CONSUMER_KEY, CONSUMER_SECRET, timeout=1, read_attempts=1,
                           allow_private_hosts=True)
    with pytest.raises(Transient) as caught:
        shop.check()
    text = f"{caught.value} {caught.value!r} {shop!r}"
    assert CONSUMER_KEY not in text and CONSUMER_SECRET not in text and "oauth_signature" not in text


def test_basic_and_query_string_auth_are_accepted(woo_sandbox):
    url = f"{woo_sandbox.url}/wp-json/wc/v3/orders"
    assert requests.get(url, auth=(CONSUMER_KEY, CONSUMER_SECRET), timeout=5).status_code == 200
    query = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}
    assert requests.get(url, params=query, timeout=5).status_code == 200
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "woocommerce_rest_cannot_view"


def test_rate_limit_is_rate_limited_with_retry_after(woo_sandbox, woo_shop):
    woo_sandbox.faults(rate_limit=1, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        woo_shop.check()
    assert caught.value.retry_after == 7.0
    woo_shop.check()                                    # the limit is over


def test_server_errors_are_transient(woo_sandbox, woo_shop):
    woo_sandbox.faults(error_rate=1.0)
    statuses = set()
    for _ in range(6):
        with pytest.raises(Transient) as caught:
            woo_shop.check()
        statuses.add(caught.value.status)
    assert statuses <= {500, 503} and statuses


def test_reads_are_retried_through_a_passing_fault(woo_sandbox):
    shop = WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=3,
                           allow_private_hosts=True)
    woo_sandbox.faults(rate_limit=2, retry_after=0)
    shop.check()
    assert woo_sandbox.state.stats["fault_rate_limited"] == 2


def test_timeout_is_transient(woo_sandbox):
    shop = WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=0.3, read_attempts=1,
                           allow_private_hosts=True)
    woo_sandbox.faults(timeout_rate=1.0, timeout_sleep=1.0)
    started = time.monotonic()
    with pytest.raises(Transient, match="timed out"):
        shop.check()
    assert time.monotonic() - started < 0.9


# ---------------------------------------------------------------------------- webhooks
def test_ensure_webhooks_creates_is_idempotent_and_replaces_a_disabled_one(woo_sandbox, woo_shop, receiver):
    ids = woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, TOPICS)
    assert len(set(ids)) == 2
    assert woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, TOPICS) == ids
    assert len(woo_sandbox.state.webhooks) == 2

    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    client.put(f"webhooks/{ids[0]}", {"status": "disabled"})
    woo_sandbox.state.webhooks[ids[0]].failure_count = 6          # as WooCommerce left it
    again = woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, TOPICS)
    assert again[1] == ids[1] and again[0] not in ids               # a new one, not re-activated
    assert sorted(woo_sandbox.state.webhooks) == sorted(again)      # the disabled one is deleted
    assert client.get(f"webhooks/{again[0]}").data["status"] == "active"
    assert woo_sandbox.state.webhooks[again[0]].failure_count == 0
    assert woo_sandbox.state.webhooks[again[0]].secret == WEBHOOK_SECRET
    assert "secret" not in client.get(f"webhooks/{again[0]}").data  # WooCommerce never shows it
    fresh = woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, TOPICS, fresh=True)
    assert not set(fresh) & set(again) and sorted(woo_sandbox.state.webhooks) == sorted(fresh)
    ids = fresh

    other = woo_shop.ensure_webhooks(receiver.url + "-other", WEBHOOK_SECRET, ("order.updated",))
    assert other[0] not in ids


def test_signed_order_updated_delivery_then_ping(woo_sandbox, woo_shop, receiver):
    [webhook_id] = woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.updated",))
    order = woo_shop.create_order(draft("ob-hook"))
    # WooCommerce saves a new order twice: creating one fires order.updated too (woocommerce#43019).
    on_create = parse_delivery(receiver.wait_for(1)[0].headers, receiver.requests[0].body)
    assert on_create.topic == "order.updated" and on_create.payload["status"] == "processing"
    # The ping follows the webhook's first delivery (as the captured shops sent it), not its creation.
    ping = receiver.wait_for(2)[1]
    parsed_ping = parse_delivery(ping.headers, ping.body)
    assert parsed_ping.is_ping and parsed_ping.webhook_id == webhook_id
    assert "X-Wc-Webhook-Signature" not in ping.headers
    assert woo_sandbox.state.wait_for_deliveries()

    woo_sandbox.control("POST", f"orders/{order.id}/complete",
                        {"tracking_provider": "PostNL", "tracking_number": "3S123"})
    delivery = receiver.wait_for(3)[2]
    parsed = parse_delivery(delivery.headers, delivery.body)
    assert (parsed.topic, parsed.resource, parsed.event) == ("order.updated", "order", "updated")
    assert parsed.webhook_id == webhook_id and parsed.resource_id == order.id
    assert parsed.source == woo_sandbox.url + "/"
    assert delivery.headers["User-Agent"].startswith("WooCommerce/")
    assert verify_signature(delivery.body, WEBHOOK_SECRET, delivery.headers["X-Wc-Webhook-Signature"])
    assert not verify_signature(delivery.body, "wrong-secret", delivery.headers["X-Wc-Webhook-Signature"])
    assert b"\\/" in delivery.body                      # PHP-encoded bytes, signed as sent
    rest_view = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True).get(f"orders/{order.id}").data
    assert json.loads(delivery.body) == rest_view

    assert woo_sandbox.state.wait_for_deliveries()
    logged = woo_sandbox.deliveries()[-1]
    assert logged["order_id"] == order.id and logged["status_code"] == 200 and logged["success"]
    assert logged["delivery_id"] == parsed.delivery_id
    assert logged["sent_at"] <= delivery.at


def test_failed_deliveries_disable_the_webhook_and_a_success_resets_the_count(woo_sandbox, woo_shop, receiver):
    """WooCommerce counts consecutive failures and disables the webhook when a failure arrives
    while the count is already above 5 (woocommerce_max_webhook_delivery_failures): the 7th."""
    [webhook_id] = woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.updated",))
    order = woo_shop.create_order(draft("ob-fail"))
    webhook = woo_sandbox.state.webhooks[webhook_id]
    assert woo_sandbox.state.wait_for_deliveries()      # the creation's order.updated, answered 200

    def one_update(status: str) -> None:
        woo_sandbox.control("POST", f"orders/{order.id}/status", {"status": status})
        assert woo_sandbox.state.wait_for_deliveries()

    receiver.status = 500
    for i in range(3):
        one_update("on-hold" if i % 2 == 0 else "processing")
    assert webhook.failure_count == 3 and webhook.status == "active"

    receiver.status = 200
    one_update("processing")
    assert webhook.failure_count == 0

    receiver.status = 503
    for i in range(6):
        one_update("on-hold" if i % 2 == 0 else "processing")
    assert webhook.failure_count == 6 and webhook.status == "active"
    one_update("completed")
    assert webhook.status == "disabled"

    sent = len(receiver.requests)
    one_update("processing")
    assert len(receiver.requests) == sent                # a disabled webhook delivers nothing
    results = [d["success"] for d in woo_sandbox.deliveries()]
    assert results == [True] + [False] * 3 + [True] + [False] * 7

    # PUT status=active keeps the count (only a success resets it): the next failure disables it
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    client.put(f"webhooks/{webhook_id}", {"status": "active"})
    assert webhook.status == "active" and webhook.failure_count == 6
    one_update("on-hold")
    assert webhook.status == "disabled"


def test_deliveries_are_logged_with_timing(woo_sandbox, woo_shop, receiver):
    woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.created",))
    before = time.time()
    order = woo_shop.create_order(draft("ob-timing"))
    receiver.wait_for(2)
    assert woo_sandbox.state.wait_for_deliveries()
    [entry] = woo_sandbox.deliveries()
    assert entry["topic"] == "order.created" and entry["order_id"] == order.id
    assert before <= entry["enqueued_at"] <= entry["sent_at"] and entry["duration"] >= 0
    assert timedelta(seconds=entry["sent_at"] - before) < timedelta(seconds=5)


# ---------------------------------------------------------------------------- sandbox fidelity
def test_redelivery_repeats_the_same_delivery(woo_sandbox, woo_shop, receiver):
    woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.updated",))
    order = woo_shop.create_order(draft("ob-twice"))
    assert woo_sandbox.state.wait_for_deliveries()
    woo_sandbox.faults(redeliver_rate=1.0)
    woo_sandbox.control("POST", f"orders/{order.id}/complete")
    first, second = receiver.wait_for(4)[2:]
    assert woo_sandbox.state.wait_for_deliveries()      # the log row follows the answer
    assert first.body == second.body
    assert first.headers["X-Wc-Webhook-Delivery-Id"] == second.headers["X-Wc-Webhook-Delivery-Id"]
    assert [d["redelivery"] for d in woo_sandbox.deliveries()] == [False, False, True]


def test_changes_while_a_delivery_waits_are_coalesced(woo_sandbox, woo_shop, receiver):
    woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.updated",))
    order = woo_shop.create_order(draft("ob-coalesce"))
    assert woo_sandbox.state.wait_for_deliveries()
    woo_sandbox.faults(delivery_delay_ms=300)
    for status in ("on-hold", "processing", "completed"):
        woo_sandbox.control("POST", f"orders/{order.id}/status", {"status": status})
    assert woo_sandbox.state.wait_for_deliveries()
    deliveries = receiver.requests[2:]
    assert len(deliveries) == 1 and json.loads(deliveries[0].body)["status"] == "completed"


def test_oauth_nonce_cannot_be_replayed(woo_sandbox):
    from woocommerce.oauth import OAuth

    url = f"{woo_sandbox.url}/wp-json/wc/v3/orders"
    signed = OAuth(url=url, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, version="wc/v3",
                   method="GET", oauth_timestamp=int(time.time())).get_oauth_url()
    assert requests.get(signed, timeout=5).status_code == 200
    replay = requests.get(signed, timeout=5)
    assert replay.status_code == 401 and "nonce" in replay.json()["message"]


def test_meta_data_update_merges_by_id_then_by_key(woo_sandbox, woo_shop):
    order = woo_shop.create_order(draft("ob-meta"))
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    meta = client.get(f"orders/{order.id}").data["meta_data"]
    ref_id = next(m["id"] for m in meta if m["key"] == "_orderbridge_ref")
    updated = client.put(f"orders/{order.id}", {"meta_data": [
        {"id": ref_id, "key": "_orderbridge_ref", "value": "ob-meta-2"},
        {"key": "_orderbridge_marketplace", "value": "amazon"},
        {"key": "_new", "value": {"nested": [1, 2]}}]}).data["meta_data"]
    values = {m["key"]: m["value"] for m in updated}
    assert values["_orderbridge_ref"] == "ob-meta-2" and values["_orderbridge_marketplace"] == "amazon"
    assert values["_new"] == {"nested": [1, 2]} and len(updated) == len(meta) + 1
    assert next(m["id"] for m in updated if m["key"] == "_orderbridge_ref") == ref_id


def test_safe_url_rule_blocks_unusual_ports_when_enforced(woo_sandbox, woo_shop, receiver):
    """wp_safe_remote_request(): besides 80/443/8080 only the site's own port is allowed."""
    woo_sandbox.state.enforce_safe_urls = True
    woo_shop.ensure_webhooks(receiver.url, WEBHOOK_SECRET, ("order.created",))
    woo_shop.create_order(draft("ob-blocked"))
    assert woo_sandbox.state.wait_for_deliveries()
    assert receiver.requests == []
    [ping] = woo_sandbox.deliveries("ping")
    [blocked] = woo_sandbox.deliveries()
    assert not ping["success"] and "valid URL" in blocked["error"]
