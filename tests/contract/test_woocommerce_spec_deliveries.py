"""The WooCommerce sandbox's webhook requests against the ones real WooCommerce 7.8.2 and 9.9.5
shops sent (shared/specs/woocommerce/deliveries-<version>/), per version played: which headers
are there and in what format, the body's keys and JSON types per topic, PHP's json_encode bytes,
and the unsigned ping after a webhook's first delivery. The real captures must verify with our
own adapter's signature check. Also: the optional WP-Cron-like delivery delay."""

from __future__ import annotations

import base64
import json
import re
import time
from decimal import Decimal

import pytest

from adapters.woocommerce import WooClient, WooCommerceShop, parse_delivery, verify_signature
from plugin.sync.ports import Address, MarketplaceLine, ShopOrderDraft
from tests.contract import woocommerce_captures as captures
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    running_sandbox,
)

ADDRESS = Address(first_name="Sanne", last_name="Peters", street="Havenweg", house_number="170",
                  house_number_ext="A", zip_code="5095XR", city="Tilburg", country_code="NL",
                  email="sanne@example.nl")
# Header values whose format is fixed (the rest are checked by pattern below).
FIXED = {"accept": "*/*", "accept-encoding": "deflate, gzip, br, zstd", "connection": "close"}


def _names(headers) -> set[str]:
    return {name.lower() for name in headers}


def _captured_names(version: str, *, ping: bool) -> set[str]:
    chosen = captures.pings(version) if ping else [d for d in captures.deliveries(version) if not d.is_ping]
    sets = {frozenset(n.lower() for n in d.header_names) for d in chosen}
    assert len(sets) == 1, "every captured request of a kind has the same headers"
    return set(next(iter(sets)))


def _header_problems(version: str, headers: dict, url: str, *, ping: bool) -> list[str]:
    lower = {k.lower(): v for k, v in headers.items()}
    problems = []
    expected = _captured_names(version, ping=ping)
    if _names(headers) != expected:
        problems.append(f"headers {sorted(_names(headers) ^ expected)} differ from the real {version} shop's")
    wp = captures.WORDPRESS[version]
    if lower.get("user-agent") != f"WooCommerce/{version} Hookshot (WordPress/{wp})":
        problems.append(f"user-agent {lower.get('user-agent')!r}")
    problems.extend(f"{name} {lower.get(name)!r}" for name, value in FIXED.items() if lower.get(name) != value)
    if "referer" in expected and lower.get("referer") != url:
        problems.append(f"referer {lower.get('referer')!r} is not the delivery URL")
    if ping:
        if lower.get("content-type") != "application/x-www-form-urlencoded":
            problems.append(f"ping content-type {lower.get('content-type')!r}")
        return problems
    if lower.get("content-type") != "application/json":
        problems.append(f"content-type {lower.get('content-type')!r}")
    if not re.fullmatch(r"[A-Za-z0-9+/]{43}=", lower.get("x-wc-webhook-signature", "")):
        problems.append("signature is not base64 of 32 bytes")
    if not re.fullmatch(r"[0-9a-f]{32}", lower.get("x-wc-webhook-delivery-id", "")):
        problems.append("delivery id is not 32 hex digits (wp_hash)")
    if not re.fullmatch(r"\d+", lower.get("x-wc-webhook-id", "")):
        problems.append("webhook id is not a number")
    if not lower.get("x-wc-webhook-source", "").endswith("/"):
        problems.append("source is not the home URL with a trailing slash")
    topic = lower.get("x-wc-webhook-topic", "")
    if f"{lower.get('x-wc-webhook-resource')}.{lower.get('x-wc-webhook-event')}" != topic:
        problems.append("resource.event is not the topic")
    return problems


def _bytes_problems(body: bytes) -> list[str]:
    """PHP's json_encode: compact, slashes escaped, ASCII only (the bytes WooCommerce signs)."""
    problems = []
    if b'": ' in body or b'", "' in body:
        problems.append("not compact")
    if re.search(rb"(?<!\\)/", body):
        problems.append("an unescaped /")
    if any(byte > 127 for byte in body):
        problems.append("non-ASCII bytes (PHP writes \\uXXXX)")
    return problems


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_real_captured_deliveries_verify_with_our_signature_check(version):
    signed = [d for d in captures.deliveries(version) if not d.is_ping]
    assert signed and all(verify_signature(d.body, captures.SECRET, d.header("X-WC-Webhook-Signature"))
                          for d in signed)
    assert not any(verify_signature(d.body, "not-the-secret", d.header("X-WC-Webhook-Signature")) for d in signed)
    for delivery in captures.deliveries(version):
        parsed = parse_delivery(dict(delivery.headers), delivery.body)
        assert parsed.is_ping == delivery.is_ping
        assert _bytes_problems(delivery.body) == []      # the check below is the real shop's style


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_sandbox_deliveries_look_like_the_real_shops(version, receiver):
    topics = tuple(sorted({d.topic for d in captures.deliveries(version) if d.topic}))
    with running_sandbox(wc_version=version) as sandbox:
        shop = WooCommerceShop(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=3, read_attempts=1,
                               allow_private_hosts=True)
        webhook_ids = shop.ensure_webhooks(receiver.url, captures.SECRET, topics)
        made = sandbox.products([{"name": "Green scarf", "sku": "SCARF-GRN", "regular_price": "19.99",
                                  "manage_stock": True, "stock_quantity": 9, "global_unique_id": "8712345000035"}])
        order = shop.create_order(ShopOrderDraft(
            ref="ob-1-A1", marketplace="bol", external_id="A1", status="processing", shipping=ADDRESS,
            lines=(MarketplaceLine("2012345680", "8712345000035", "Green scarf", 1, Decimal("19.99"), sku="SCARF-GRN"),)))
        assert sandbox.state.wait_for_deliveries()
        sandbox.control("POST", f"orders/{order.id}/complete", {"tracking_provider": "postnl",
                                                                "tracking_number": "3SABCD1234567"})
        sandbox.control("POST", f"orders/{order.id}/tracking", {"tracking_provider": "DHL Parcel NL",
                                                                "tracking_number": "JVGL0123456789"})
        sandbox.control("POST", f"orders/{order.id}/refund", {"amount": "19.99", "reason": "return",
                                                              "line_items": [], "restock_items": False})
        sandbox.merchant_stock(made["SCARF-GRN"]["id"], 8)
        assert sandbox.state.wait_for_deliveries()
        WooClient(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True).delete(f"orders/{order.id}")
        assert sandbox.state.wait_for_deliveries()
        got = list(receiver.requests)

    problems: list[str] = []
    first_delivery: dict[int, int] = {}
    pinged: dict[int, int] = {}
    seen_topics = set()
    for index, request in enumerate(got):
        parsed = parse_delivery(request.headers, request.body)
        if parsed.is_ping:
            pinged[parsed.webhook_id] = index
            problems.extend(f"ping {index}: {p}" for p in _header_problems(version, request.headers, receiver.url,
                                                                            ping=True))
            continue
        first_delivery.setdefault(parsed.webhook_id, index)
        seen_topics.add(parsed.topic)
        where = f"{parsed.topic} {index}"
        if not verify_signature(request.body, captures.SECRET, request.headers.get("X-Wc-Webhook-Signature", "")):
            problems.append(f"{where}: signature does not verify")
        problems.extend(f"{where}: {p}" for p in _header_problems(version, request.headers, receiver.url, ping=False))
        problems.extend(f"{where}: body {p}" for p in _bytes_problems(request.body))
        real = captures.of_topic(version, parsed.topic)
        if real:
            problems.extend(f"{where}: {p}" for p in captures.same_shape_problems(
                json.loads(request.body), real[0].json(), "body"))
    assert not problems, "\n".join(problems)
    assert seen_topics == set(topics)
    # One unsigned ping per webhook, right after that webhook's first delivery (never before it).
    assert set(pinged) == set(webhook_ids)
    assert all(pinged[w] > first_delivery[w] for w in webhook_ids)


def test_sandbox_checks_are_not_vacuous():
    real = captures.of_topic("9.9.5", "order.updated")[0]
    headers = dict(real.headers)
    url = "http://127.0.0.1:8081/capture"
    assert _header_problems("9.9.5", headers, url, ping=False) == []
    assert _header_problems("9.9.5", {**headers, "Referer": url}, url, ping=False) != []     # 9.x sends none
    assert _header_problems("7.8.2", headers, url, ping=False) != []                         # 7.8 does
    assert _bytes_problems(json.dumps({"a": "http://x/"}).encode()) != []
    body = real.json()
    assert captures.same_shape_problems(body, body) == []
    assert captures.same_shape_problems({**body, "total": 19.99}, body) != []
    assert captures.same_shape_problems({k: v for k, v in body.items() if k != "refunds"}, body) != []
    assert len(base64.b64decode(real.header("X-WC-Webhook-Signature"))) == 32


# ---------------------------------------------------------------------------- WP-Cron delay
def test_a_delayed_delivery_arrives_no_sooner_than_the_delay(receiver):
    """delivery_delay=(low, high): each delivery waits in the queue like Action Scheduler's on
    WP-Cron (10-60 s on a real shop); a short range here."""
    with running_sandbox(delivery_delay=(0.6, 0.8)) as sandbox:
        shop = WooCommerceShop(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=3, read_attempts=1,
                               allow_private_hosts=True)
        shop.ensure_webhooks(receiver.url, "whsec", ("order.updated",))
        sandbox.products([{"name": "Mug", "sku": "MUG", "regular_price": "5.00"}])
        changed_at = time.time()
        shop.create_order(ShopOrderDraft(ref="ob-d", marketplace="bol", external_id="D", status="processing",
                                         shipping=ADDRESS, lines=(MarketplaceLine("1", "", "Mug", 1, Decimal("5.00"),
                                                                            sku="MUG"),)))
        first = receiver.wait_for(1, timeout=10)[0]
        assert first.at - changed_at >= 0.6
        # the sandbox logs a delivery once its answer is in: read the log when the queue is idle
        assert sandbox.state.wait_for_deliveries(10)
        [row] = [r for r in sandbox.deliveries() if r["topic"] == "order.updated"]
        assert row["sent_at"] - row["enqueued_at"] >= 0.6


def test_delivery_delay_is_off_by_default_and_parsed_from_a_range():
    from sandbox.woocommerce.state import WooState, parse_delay
    assert WooState().delivery_delay is None
    assert parse_delay("10-60") == (10.0, 60.0)
    assert parse_delay(5) == (5.0, 5.0)
    assert parse_delay("0") is None
    with pytest.raises(ValueError):
        parse_delay("60-10")
    for bad in ("-", "x", "10-20-30", "-5"):
        with pytest.raises(ValueError, match="bad delivery delay range"):
            parse_delay(bad)
