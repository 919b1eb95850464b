"""/_sandbox/*: test-only control endpoints. No authentication, never part of bol's API.

They let a test (or a developer running `python -m sandbox.bol`) create sellers and orders,
inspect what shipments arrived, and turn faults on and off at runtime.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from sandbox.bol import serialize
from sandbox.bol.state import BolState

bp = Blueprint("bol_control", __name__, url_prefix="/_sandbox")

SETTINGS = ("token_expires_in", "process_delay", "rate_per_second", "rate_burst")


def _state() -> BolState:
    return current_app.config["BOL_STATE"]


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _json_body() -> dict | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.post("/sellers")
def add_seller():
    body = _json_body()
    if not body or not isinstance(body.get("client_id"), str) or not isinstance(body.get("client_secret"), str) \
            or not body["client_id"] or not body["client_secret"]:
        return _error(400, "client_id and client_secret (non-empty strings) are required")
    _state().add_seller(body["client_id"], body["client_secret"])
    return jsonify({"client_id": body["client_id"]}), 201


@bp.get("/sellers")
def list_sellers():
    state = _state()
    with state.lock:
        return jsonify({"sellers": sorted(state.sellers)})    # ids only, never secrets


@bp.post("/orders")
def add_orders():
    body = _json_body() or {}
    client_id = body.get("client_id")
    count = body.get("count", 1)
    method = body.get("fulfilment_method", "FBR")
    per_order = body.get("items_per_order")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10000:
        return _error(400, "count must be an integer between 1 and 10000")
    if method not in ("FBR", "FBB"):
        return _error(400, "fulfilment_method must be FBR or FBB")
    if per_order is not None and (not isinstance(per_order, int) or not 1 <= per_order <= 100):
        return _error(400, "items_per_order must be an integer between 1 and 100")
    try:
        orders = _state().add_random_orders(client_id, count, fulfilment_method=method,
                                            items_per_order=per_order)
    except KeyError:
        return _error(404, f"unknown seller {client_id!r}; POST /_sandbox/sellers first")
    return jsonify({
        "order_ids": [o.order_id for o in orders],
        "order_item_ids": {o.order_id: [i.order_item_id for i in o.items] for o in orders},
    }), 201


@bp.get("/orders")
def dump_orders():
    """Full Order JSON of one seller's orders (whatever their status)."""
    state = _state()
    client_id = request.args.get("client_id", "")
    with state.lock:
        return jsonify({"orders": [serialize.order(o) for o in state.orders_for(client_id)]})


@bp.get("/shipments")
def shipments():
    return jsonify({"shipments": _state().shipment_log()})


@bp.get("/faults")
def get_faults():
    state = _state()
    with state.lock:
        return jsonify(state.faults.to_dict())


@bp.put("/faults")
def put_faults():
    state = _state()
    body = _json_body()
    if body is None:
        return _error(400, "a JSON object is required")
    try:
        return jsonify(state.configure_faults(**body))
    except ValueError as exc:
        return _error(400, str(exc))


@bp.get("/settings")
def get_settings():
    state = _state()
    with state.lock:
        return jsonify({name: getattr(state, name) for name in SETTINGS})


@bp.put("/settings")
def put_settings():
    state = _state()
    body = _json_body()
    if body is None:
        return _error(400, "a JSON object is required")
    for key, value in body.items():
        if key not in SETTINGS:
            return _error(400, f"unknown setting: {key}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _error(400, f"{key} must be a number >= 0")
    with state.lock:
        for key, value in body.items():
            setattr(state, key, int(value) if key in ("token_expires_in", "rate_burst") else float(value))
        return jsonify({name: getattr(state, name) for name in SETTINGS})


@bp.post("/tokens/expire")
def expire_tokens():
    return jsonify({"expired": _state().expire_tokens()})


@bp.get("/stats")
def stats():
    state = _state()
    with state.lock:
        return jsonify(state.stats.to_dict())
