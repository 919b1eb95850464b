"""Webhook records as WC_REST_Webhooks_Controller (v3, via v1/v2) handles them.

Facts mirrored from WooCommerce:
- POST creates the webhook `active` whatever `status` says. The ping comes after the webhook's
  first delivery (as captured), never fails anything and does not count as a delivery failure.
- The response never contains `secret` (it is in the schema, but not in the data returned).
- Unknown id: GET and PUT answer 400 `woocommerce_rest_shop_webhook_invalid_id` ("ID is
  invalid."), DELETE answers 404; DELETE without force=true answers 501.
- failure_count is internal; PUT status=active does not reset it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .models import Webhook
from .state import WooState
from .wpjson import ApiError, wc_date

STATUSES = ("active", "paused", "disabled")
_EVENTS = {
    "order": ("created", "updated", "deleted", "restored"),
    "product": ("created", "updated", "deleted", "restored"),
    "coupon": ("created", "updated", "deleted", "restored"),
    "customer": ("created", "updated", "deleted"),
}
# The WooCommerce hooks behind each topic (shown in the `hooks` field).
_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product", "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product", "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}


def valid_topic(topic: str) -> bool:
    """wc_is_webhook_valid_topic(): resource.event for the built-in pairs, or action.<hook>."""
    if not isinstance(topic, str) or "." not in topic:
        return False
    resource, event = topic.split(".", 1)
    if resource == "action":
        return bool(re.fullmatch(r"[A-Za-z0-9_\-]+", event))
    return event in _EVENTS.get(resource, ())


def valid_delivery_url(url: Any) -> bool:
    """wc_is_valid_url(): http(s) scheme and a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def create_webhook(state: WooState, body: Mapping[str, Any]) -> Webhook:
    missing = [name for name in ("topic", "delivery_url") if not body.get(name)]
    if missing:
        raise ApiError(400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}",
                       params=missing)
    topic = str(body["topic"]).lower()
    if not valid_topic(topic):
        raise ApiError(400, "woocommerce_rest_shop_webhook_invalid_topic",
                       "Webhook topic is required and must be valid.")
    if not valid_delivery_url(body["delivery_url"]):
        raise ApiError(400, "woocommerce_rest_shop_webhook_invalid_delivery_url",
                       "Webhook delivery URL must be a valid URL starting with http:// or https://.")
    now = state.now()
    webhook = Webhook(
        id=state.next_webhook_id(),
        name=str(body.get("name") or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}"),
        topic=topic,
        delivery_url=body["delivery_url"],
        # wp_generate_password( 50, true, true ) when none is given.
        secret=str(body.get("secret") or state.random_string(50, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_ []{}<>~`+=,.;:/?|")),
        date_created=now,
        date_modified=now,
        status="active",
    )
    state.webhooks[webhook.id] = webhook
    return webhook


def update_webhook(state: WooState, webhook: Webhook, body: Mapping[str, Any]) -> Webhook:
    if body.get("topic"):
        if not valid_topic(str(body["topic"]).lower()):
            raise ApiError(400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.")
    if body.get("delivery_url") and not valid_delivery_url(body["delivery_url"]):
        raise ApiError(400, "woocommerce_rest_shop_webhook_invalid_delivery_url",
                       "Webhook delivery URL must be a valid URL starting with http:// or https://.")
    if body.get("status") and str(body["status"]).lower() not in STATUSES:
        raise ApiError(400, "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.")
    if body.get("topic"):
        webhook.topic = str(body["topic"]).lower()
    if body.get("delivery_url"):
        webhook.delivery_url = body["delivery_url"]
    if body.get("secret"):
        webhook.secret = str(body["secret"])
    if body.get("status"):
        webhook.status = str(body["status"]).lower()
    if body.get("name"):
        webhook.name = str(body["name"])
    webhook.date_modified = state.now()
    return webhook


def webhook_to_json(state: WooState, webhook: Webhook) -> dict:
    site = state.site_url
    return {
        "id": webhook.id,
        "name": webhook.name,
        "status": webhook.status,
        "topic": webhook.topic,
        "resource": webhook.resource,
        "event": webhook.event,
        "hooks": _HOOKS.get(webhook.topic, [webhook.event] if webhook.resource == "action" else []),
        "delivery_url": webhook.delivery_url,
        "date_created": wc_date(webhook.date_created),
        "date_created_gmt": wc_date(webhook.date_created),
        "date_modified": wc_date(webhook.date_modified),
        "date_modified_gmt": wc_date(webhook.date_modified),
        "_links": {
            "self": [state.self_link(f"{site}/wp-json/wc/v3/webhooks/{webhook.id}")],
            "collection": [{"href": f"{site}/wp-json/wc/v3/webhooks"}],
        },
    }
