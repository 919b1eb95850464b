"""POST /webhooks/woocommerce/<shop>: verify, record once, enqueue, answer 200 in milliseconds.

WooCommerce disables a webhook after 5 failed deliveries, so this endpoint does no work beyond
what it must: the payload is kept in the database (a lost job is found again by the sweep) and
applied by a worker. Order of checks: unknown shop 404, oversize 413, the creation ping 200,
bad signature 401, bad JSON 400, unknown topic 400, already seen 200 (nothing stored again).
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters.woocommerce.webhooks import MalformedWebhook, parse_delivery, verify_signature
from plugin.store import models

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")


@bp.post("/webhooks/woocommerce/<shop_public_id>")
def woocommerce(shop_public_id: str):
    ctx = current_app.extensions["orderbridge"]
    with ctx.db.session() as s:
        shop = s.scalar(select(models.Shop).where(models.Shop.public_id == shop_public_id))
        if shop is None or shop.status != "active":
            abort(404, "unknown shop")
        shop_id, sealed_secret = shop.id, shop.webhook_secret
    if (request.content_length or 0) > ctx.settings.webhook_max_bytes:
        abort(413, "body too large")
    raw = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    headers = dict(request.headers)
    if not request.headers.get("X-WC-Webhook-Topic"):
        # WooCommerce pings a new webhook's URL with `webhook_id=N`, unsigned: answer 200
        try:
            if parse_delivery(headers, raw).is_ping:
                return jsonify(status="pong")
        except MalformedWebhook as exc:
            abort(400, str(exc))
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if not verify_signature(raw, ctx.box.open(sealed_secret), signature):
        abort(401, "signature does not match")
    try:
        delivery = parse_delivery(headers, raw)
    except MalformedWebhook as exc:
        abort(400, str(exc))
    if not isinstance(delivery.payload, dict):
        abort(400, "body must be a JSON object")
    if delivery.topic not in TOPICS:
        abort(400, f"unknown topic {delivery.topic!r}")
    if not delivery.delivery_id:
        abort(400, "missing X-WC-Webhook-Delivery-ID")
    fingerprint = hashlib.sha256(delivery.delivery_id.encode() + b"\n" + raw).hexdigest()
    try:
        with ctx.db.session() as s:
            row = models.WebhookDelivery(shop_id=shop_id, delivery_id=delivery.delivery_id[:100],
                                         fingerprint=fingerprint, topic=delivery.topic, payload=raw.decode())
            s.add(row)
            s.flush()
            row_id = row.id
    except IntegrityError:
        return jsonify(status="duplicate")   # a redelivery: acknowledged, not reprocessed
    ctx.queue.process_delivery(row_id)
    return jsonify(status="accepted")
