"""Bad input at the webhook endpoint: a clear 4xx with a reason, nothing stored or changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import func, select

from plugin.store import models

pytestmark = pytest.mark.e2e


def _shop(stack):
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
        return shop.public_id, stack.ctx.box.open(shop.webhook_secret)


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _headers(body: bytes, secret: str, topic="order.updated", delivery="d-1"):
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": topic.split(".")[0], "X-WC-Webhook-Event": topic.split(".")[1],
            "X-WC-Webhook-ID": "1", "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Source": "http://shop.example/", "X-WC-Webhook-Signature": _sign(body, secret)}


def _deliveries(stack) -> int:
    with stack.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(models.WebhookDelivery))


@pytest.fixture
def shop(stack):
    stack.connect()
    return _shop(stack)


def test_valid_delivery_is_accepted_then_a_redelivery_is_acknowledged(stack, shop):
    public_id, secret = shop
    body = json.dumps({"id": 999999, "status": "completed", "meta_data": []}).encode()
    url = f"/webhooks/woocommerce/{public_id}"
    first = stack.app.post(url, content=body, headers=_headers(body, secret))
    again = stack.app.post(url, content=body, headers=_headers(body, secret))
    assert (first.status_code, first.json()["status"]) == (200, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert _deliveries(stack) == 1


def test_ping_is_answered(stack, shop):
    public_id, _ = shop
    r = stack.app.post(f"/webhooks/woocommerce/{public_id}", content=b"webhook_id=12",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert _deliveries(stack) == 0


@pytest.mark.parametrize("case", ["forged", "malformed", "unknown_topic", "not_object", "no_delivery_id"])
def test_bad_deliveries_are_refused_and_change_nothing(stack, shop, case):
    public_id, secret = shop
    body = json.dumps({"id": 1, "status": "completed"}).encode()
    headers = _headers(body, secret)
    expected = 400
    if case == "forged":
        headers["X-WC-Webhook-Signature"] = _sign(body, "not-the-secret")
        expected = 401
    elif case == "malformed":
        body = b'{"id": 1, "status": '
        headers = _headers(body, secret)
    elif case == "unknown_topic":
        headers = _headers(body, secret, topic="coupon.created")
    elif case == "not_object":
        body = b"[1, 2]"
        headers = _headers(body, secret)
    elif case == "no_delivery_id":
        del headers["X-WC-Webhook-Delivery-ID"]
    r = stack.app.post(f"/webhooks/woocommerce/{public_id}", content=body, headers=headers)
    assert r.status_code == expected, r.text
    assert r.json()["reason"]
    assert _deliveries(stack) == 0


def test_unknown_shop_is_404(stack, shop):
    _, secret = shop
    body = b"{}"
    r = stack.app.post("/webhooks/woocommerce/no-such-shop", content=body, headers=_headers(body, secret))
    assert r.status_code == 404 and r.json()["reason"] == "unknown shop"


def test_oversized_body_is_413(stack, shop):
    public_id, secret = shop
    body = b'{"pad": "' + b"x" * (stack.ctx.settings.webhook_max_bytes + 10) + b'"}'
    r = stack.app.post(f"/webhooks/woocommerce/{public_id}", content=body, headers=_headers(body, secret))
    assert r.status_code == 413
    assert _deliveries(stack) == 0


def test_health(stack):
    r = stack.app.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("order_id", ["12", 2**64, -5, None])
def test_a_signed_payload_that_is_no_order_is_recorded_and_not_swept_again(stack, shop, order_id):
    """Signed by the shop (so accepted and stored), but its id is not an order id we could hold:
    the worker records it as processed instead of failing on it at every sweep."""
    from plugin.sync.process_delivery import process_delivery
    public_id, secret = shop
    body = json.dumps({"id": order_id, "status": "completed", "meta_data": []}).encode()
    r = stack.app.post(f"/webhooks/woocommerce/{public_id}", content=body, headers=_headers(body, secret, delivery="odd"))
    assert r.status_code == 200
    with stack.ctx.db.session() as s:
        delivery = s.scalar(select(models.WebhookDelivery).where(models.WebhookDelivery.delivery_id == "odd"))
    stack.wait_for(lambda: process_delivery(stack.ctx, delivery.id) == "nothing to do", what="recorded as processed")
    with stack.ctx.db.session() as s:
        assert s.get(models.WebhookDelivery, delivery.id).processed_at is not None
        assert s.scalar(select(func.count()).select_from(models.Order)) == 0
