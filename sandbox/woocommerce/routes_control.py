"""/_sandbox/: test and demo controls, no auth. Merchant actions here go through the same order
code as wp-admin would, so each one is one save and one order.updated webhook."""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state
from .models import ORDER_STATUSES
from .orders import order_to_json, save, set_status
from .tracking import add_tracking_item
from .wpjson import json_response, wc_date

bp = Blueprint("woo_control", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _error(status: int, message: str):
    return json_response({"error": message}, status)


@bp.post("/keys")
def add_key():
    body = _body()
    if not body.get("consumer_key") or not body.get("consumer_secret"):
        return _error(400, "consumer_key and consumer_secret are required")
    try:
        key = get_state().add_key(body["consumer_key"], body["consumer_secret"],
                                  body.get("permissions", "read_write"))
    except ValueError as exc:
        return _error(400, str(exc))
    return json_response({"key_id": key.key_id, "consumer_key": key.consumer_key,
                          "permissions": key.permissions}, 201)


@bp.get("/keys")
def list_keys():
    """WooCommerce > Settings > Advanced > REST API: what wp-admin lists, never the secrets
    (WooCommerce keeps only a hash of the consumer key and shows its last 7 characters)."""
    state = get_state()
    with state.lock:
        keys = sorted(state.keys.values(), key=lambda k: k.key_id)
        return json_response([{"key_id": k.key_id, "description": k.description, "permissions": k.permissions,
                               "truncated_key": k.truncated_key, "user_id": k.user_id,
                               "created": wc_date(k.created)} for k in keys])


@bp.delete("/keys/<int:key_id>")
def revoke_key(key_id: int):
    """wp-admin's "Revoke": the REST API treats the key as unknown from now on (401)."""
    key = get_state().remove_key(key_id)
    if key is None:
        return _error(404, f"no key {key_id}")
    return json_response({"key_id": key.key_id, "revoked": True})


@bp.get("/orders")
def all_orders():
    state = get_state()
    with state.lock:
        return json_response([order_to_json(state, o) for o in sorted(state.orders.values(), key=lambda o: o.id)])


def _merchant_change(order_id: int, change):
    state = get_state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            return _error(404, f"no order {order_id}")
        problem = change(state, order)
        if problem:
            return _error(400, problem)
        return json_response(order_to_json(state, order))


@bp.post("/orders/<int:order_id>/complete")
def complete(order_id: int):
    """Mark completed, optionally adding a tracking entry in the same save."""
    body = _body()

    def change(state, order):
        if body.get("tracking_number"):
            add_tracking_item(state, order, str(body.get("tracking_provider") or ""), str(body["tracking_number"]))
        set_status(state, order, "completed")

    return _merchant_change(order_id, change)


@bp.post("/orders/<int:order_id>/tracking")
def add_tracking(order_id: int):
    body = _body()

    def change(state, order):
        if not body.get("tracking_number"):
            return "tracking_number is required"
        add_tracking_item(state, order, str(body.get("tracking_provider") or ""), str(body["tracking_number"]))
        save(state, order)

    return _merchant_change(order_id, change)


@bp.post("/orders/<int:order_id>/status")
def change_status(order_id: int):
    body = _body()

    def change(state, order):
        if body.get("status") not in ORDER_STATUSES:
            return f"status must be one of {', '.join(ORDER_STATUSES)}"
        set_status(state, order, body["status"])

    return _merchant_change(order_id, change)


@bp.get("/deliveries")
def deliveries():
    state = get_state()
    kind = request.args.get("kind")
    webhook_id = request.args.get("webhook_id", type=int)
    since = request.args.get("since_seq", 0, type=int)
    with state.lock:
        rows = [dict(r) for r in state.deliveries
                if r["seq"] > since and (kind is None or r["kind"] == kind)
                and (webhook_id is None or r["webhook_id"] == webhook_id)]
    return json_response(rows)


@bp.get("/webhooks")
def webhooks():
    """What the REST API hides: secret and failure_count."""
    state = get_state()
    with state.lock:
        return json_response([{"id": w.id, "topic": w.topic, "status": w.status, "delivery_url": w.delivery_url,
                               "secret": w.secret, "failure_count": w.failure_count}
                              for w in state.webhooks.values()])


@bp.route("/faults", methods=["GET", "PUT"])
def faults():
    state = get_state()
    if request.method == "PUT":
        try:
            with state.lock:
                state.faults.update(_body())
        except ValueError as exc:
            return _error(400, str(exc))
    with state.lock:
        return json_response(state.faults.to_dict())


@bp.get("/stats")
def stats():
    state = get_state()
    with state.lock:
        data = {
            "orders": len(state.orders),
            "products": len(state.products),
            "webhooks": len(state.webhooks),
            "deliveries_logged": len(state.deliveries),
            "counters": dict(state.stats),
        }
    data["deliveries_pending"] = state.pending_deliveries()
    return json_response(data)
