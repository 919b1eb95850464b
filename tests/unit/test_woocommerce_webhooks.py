from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from adapters.woocommerce.webhooks import MalformedWebhook, parse_delivery, verify_signature

SECRET = "whsec_7f3a9c1e"
# Exactly as WooCommerce sends it: PHP json_encode, slashes escaped.
BODY = (b'{"id":727,"status":"completed","_links":{"self":[{"href":'
        b'"https:\\/\\/shop.example\\/wp-json\\/wc\\/v3\\/orders\\/727"}]}}')
# Computed outside Python: openssl dgst -sha256 -hmac "$SECRET" -binary body.json | base64
KNOWN_SIGNATURE = "gN5Yc2bP1jIiDNBgc/ggYTB/IYIev/Jw3DGGLrIskOc="

HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "WooCommerce/8.9.3 Hookshot (WordPress/6.5.5)",
    "X-WC-Webhook-Source": "https://shop.example/",
    "X-WC-Webhook-Topic": "order.updated",
    "X-WC-Webhook-Resource": "order",
    "X-WC-Webhook-Event": "updated",
    "X-WC-Webhook-Signature": KNOWN_SIGNATURE,
    "X-WC-Webhook-ID": "12",
    "X-WC-Webhook-Delivery-ID": "9f2c0b5e4f1a6d7c8b9a0e1f2d3c4b5a",
}


def test_known_vector():
    independent = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert independent == KNOWN_SIGNATURE
    assert verify_signature(BODY, SECRET, KNOWN_SIGNATURE)
    assert verify_signature(BODY, SECRET, f"  {KNOWN_SIGNATURE}\n")


def test_forged_or_reserialised_bodies_fail():
    assert not verify_signature(BODY.replace(b"completed", b"cancelled"), SECRET, KNOWN_SIGNATURE)
    # Same JSON, different bytes (slashes unescaped): the signature is over the bytes as sent.
    assert not verify_signature(BODY.replace(b"\\/", b"/"), SECRET, KNOWN_SIGNATURE)
    assert not verify_signature(BODY, "another-secret", KNOWN_SIGNATURE)
    assert not verify_signature(BODY, SECRET, KNOWN_SIGNATURE[:-2] + "A=")


@pytest.mark.parametrize(("secret", "header"), [("", KNOWN_SIGNATURE), (SECRET, ""), ("", ""),
                                                 (SECRET, "не-base64")])
def test_empty_or_garbage_never_verifies(secret, header):
    assert not verify_signature(BODY, secret, header)


def test_parse_order_delivery():
    delivery = parse_delivery(HEADERS, BODY)
    assert (delivery.topic, delivery.resource, delivery.event) == ("order.updated", "order", "updated")
    assert delivery.webhook_id == 12 and delivery.resource_id == 727 and not delivery.is_ping
    assert delivery.delivery_id == "9f2c0b5e4f1a6d7c8b9a0e1f2d3c4b5a"
    assert delivery.source == "https://shop.example/"
    assert delivery.payload["status"] == "completed"


def test_header_names_are_case_insensitive():
    lower = {k.lower(): v for k, v in HEADERS.items()}
    assert parse_delivery(lower, BODY) == parse_delivery(HEADERS, BODY)


def test_deleted_order_payload_is_only_the_id():
    headers = {**HEADERS, "X-WC-Webhook-Topic": "order.deleted", "X-WC-Webhook-Event": "deleted"}
    delivery = parse_delivery(headers, b'{"id":727}')
    assert delivery.event == "deleted" and delivery.resource_id == 727


def test_ping():
    ping = parse_delivery({"User-Agent": "WooCommerce/8.9.3 Hookshot (WordPress/6.5.5)",
                           "Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=12")
    assert ping.is_ping and ping.webhook_id == 12
    assert ping.topic is None and ping.delivery_id is None and ping.resource_id is None


@pytest.mark.parametrize(("headers", "body"), [
    ({}, b""),                                                           # nothing at all
    ({}, b'{"id":1}'),                                                   # JSON without headers
    ({}, b"webhook_id=abc"),                                             # not a ping
    ({**HEADERS, "X-WC-Webhook-Topic": "orderupdated"}, BODY),           # topic without a dot
    ({**HEADERS, "X-WC-Webhook-Topic": "order."}, BODY),
    ({**HEADERS, "X-WC-Webhook-ID": "twelve"}, BODY),
    (HEADERS, b"<html>not json</html>"),
    (HEADERS, b"[1, 2]"),                                                # not an object
])
def test_malformed(headers, body):
    with pytest.raises(MalformedWebhook):
        parse_delivery(headers, body)
    assert issubclass(MalformedWebhook, ValueError)
