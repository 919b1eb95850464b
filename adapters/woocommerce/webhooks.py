"""Reading WooCommerce webhook requests: signature check and header parsing. No Flask here; the
web layer passes its headers mapping and the raw body bytes.

- X-WC-Webhook-Signature is base64(HMAC-SHA256(raw body, secret)). It must be checked over the
  bytes as received: WooCommerce signs PHP's json_encode output (escaped slashes, \\uXXXX), which
  re-serialising in Python does not reproduce.
- The ping WooCommerce sends when a webhook is created is a form POST `webhook_id=<id>` with no
  X-WC-Webhook-* headers and no signature; answer it 200 or WooCommerce reports an error to the
  person saving the webhook.
- X-WC-Webhook-Delivery-ID is wp_hash(webhook id . time()): two deliveries of one webhook in the
  same second share it, so it is not a safe key for dropping duplicates on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_PING = re.compile(rb"^webhook_id=(\d+)$")


class MalformedWebhook(ValueError):
    """The request is not a WooCommerce webhook delivery or ping we can read."""


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str | None             # "order.updated"; None for a ping
    resource: str | None          # "order"
    event: str | None             # "updated"
    webhook_id: int | None
    delivery_id: str | None
    source: str | None            # the shop's home URL with a trailing slash
    is_ping: bool = False
    resource_id: int | None = None        # payload "id" (order id for order.* topics)
    payload: Any = field(default=None, compare=False, repr=False)


def expected_signature(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_signature(raw_body: bytes, secret: str, header_value: str) -> bool:
    """Constant-time check of X-WC-Webhook-Signature; False for a missing secret or header."""
    if not secret or not header_value:
        return False
    return hmac.compare_digest(expected_signature(raw_body, secret).encode(), header_value.strip().encode())


def parse_delivery(headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
    lower = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    topic = lower.get("x-wc-webhook-topic")
    source = lower.get("x-wc-webhook-source") or None
    if not topic:
        ping = _PING.match(raw_body.strip())
        if ping:
            return WebhookDelivery(topic=None, resource=None, event=None, webhook_id=int(ping.group(1)),
                                   delivery_id=None, source=source, is_ping=True)
        raise MalformedWebhook("not a WooCommerce webhook: no X-WC-Webhook-Topic header and not a ping")
    if topic.count(".") < 1 or not all(topic.split(".", 1)):
        raise MalformedWebhook(f"bad X-WC-Webhook-Topic: {topic[:80]!r}")
    resource, event = topic.split(".", 1)
    webhook_id = _int_header(lower, "x-wc-webhook-id")
    try:
        payload = json.loads(raw_body) if raw_body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise MalformedWebhook(f"{topic} body is not JSON") from None
    if resource != "action" and not isinstance(payload, dict):
        raise MalformedWebhook(f"{topic} body is not a JSON object")
    resource_id = payload.get("id") if isinstance(payload, dict) else None
    return WebhookDelivery(
        topic=topic,
        resource=lower.get("x-wc-webhook-resource") or resource,
        event=lower.get("x-wc-webhook-event") or event,
        webhook_id=webhook_id,
        delivery_id=lower.get("x-wc-webhook-delivery-id") or None,
        source=source,
        is_ping=False,
        resource_id=resource_id if isinstance(resource_id, int) and not isinstance(resource_id, bool) else None,
        payload=payload,
    )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise MalformedWebhook(f"bad {name}: {value[:40]!r}")
    return int(value)
