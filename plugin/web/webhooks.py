"""POST /webhooks/woocommerce/<shop>: verify, record once, enqueue, answer 200 in milliseconds.

WooCommerce disables a webhook after 5 failed deliveries, so this endpoint does no work beyond
what it must: the payload is kept in the database (a lost job is found again by the sweep) and
applied by a worker. Order of checks: unknown shop 404, oversize 413, the creation ping 200,
bad signature 401, not application/json (UTF-8) 415, a body that is not UTF-8 JSON or nested too
deeply 400, unknown topic 400, already seen 200 (nothing stored again). Hostile input is a 4xx
with its reason, never a 500: the public id is checked before it reaches the database, and
the body is decoded as strict UTF-8 before it is parsed or stored.
"""

from __future__ import annotations

import hashlib
import logging
import re

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters.woocommerce.webhooks import MalformedWebhook, parse_delivery, verify_signature
from plugin.store import models

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
# A shop's public id is secrets.token_urlsafe(12); anything else names no shop (and a NUL byte
# or a 10 kB path segment never reaches a query).
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@bp.post("/webhooks/woocommerce/<shop_public_id>")
def woocommerce(shop_public_id: str):
    ctx = current_app.extensions["orderbridge"]
    if not _PUBLIC_ID.match(shop_public_id):
        abort(404, "unknown shop")
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
    # WooCommerce sends json_encode output as application/json; JSON is UTF-8 (RFC 8259)
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if request.mimetype != "application/json" or charset not in ("utf-8", "utf8"):
        abort(415, "a delivery must be application/json (UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "body is not UTF-8 text")
    if text.startswith("\ufeff") or "\x00" in text:
        # UTF-16/32 JSON (json.loads(bytes) would read it) or a BOM: the worker parses the stored
        # text as UTF-8, and no JSON text holds a raw NUL (PostgreSQL text cannot either)
        abort(400, "body is not UTF-8 JSON text")
    try:
        delivery = parse_delivery(headers, raw)
    except MalformedWebhook as exc:
        abort(400, str(exc))
    except RecursionError:
        abort(400, "body is nested too deeply")
    if not isinstance(delivery.payload, dict):
        abort(400, "body must be a JSON object")
    if delivery.topic not in TOPICS:
        abort(400, f"unknown topic {delivery.topic!r}")
    if not delivery.delivery_id:
        abort(400, "missing X-WC-Webhook-Delivery-ID")
    if not delivery.delivery_id.isprintable():
        abort(400, "bad X-WC-Webhook-Delivery-ID")
    fingerprint = hashlib.sha256(delivery.delivery_id.encode() + b"\n" + raw).hexdigest()
    try:
        with ctx.db.session() as s:
            row = models.WebhookDelivery(shop_id=shop_id, delivery_id=delivery.delivery_id[:100],
                                         fingerprint=fingerprint, topic=delivery.topic, payload=text)
            s.add(row)
            s.flush()
            row_id = row.id
    except IntegrityError:
        return jsonify(status="duplicate")   # a redelivery: acknowledged, not reprocessed
    ctx.queue.process_delivery(row_id)
    return jsonify(status="accepted")
