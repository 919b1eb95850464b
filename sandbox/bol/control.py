"""/_sandbox/*: test-only control endpoints. No authentication, never part of bol's API.

They let a test (or a developer running `python -m sandbox.bol`) create sellers, orders, offers,
buyers' cancellation requests and returns, inspect what shipments, cancellations, stock updates and
return handlings arrived, and turn faults on and off at runtime.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, jsonify, request

from sandbox.bol import serialize
from sandbox.bol.constants import RATE_GROUPS
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
    from_offers = body.get("from_offers", False)
    lines = body.get("lines")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10000:
        return _error(400, "count must be an integer between 1 and 10000")
    if method not in ("FBR", "FBB"):
        return _error(400, "fulfilment_method must be FBR or FBB")
    if per_order is not None and (not isinstance(per_order, int) or not 1 <= per_order <= 100):
        return _error(400, "items_per_order must be an integer between 1 and 100")
    if not isinstance(from_offers, bool):
        return _error(400, "from_offers must be a boolean")
    if lines is not None and (not isinstance(lines, list) or not 1 <= len(lines) <= 100):
        return _error(400, "lines must be a list of 1 to 100 {offer_id or ean, quantity}")
    try:
        orders = _state().add_random_orders(client_id, count, fulfilment_method=method,
                                            items_per_order=per_order, from_offers=from_offers, lines=lines)
    except KeyError:
        return _error(404, f"unknown seller {client_id!r}; POST /_sandbox/sellers first")
    except ValueError as exc:
        return _error(400, str(exc))
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


@bp.post("/orders/<order_id>/cancellation-request")
def request_cancellation(order_id: str):
    """The buyer asks to cancel order items: {"order_item_ids": [...]} (absent: every open item).
    Those items then carry cancellationRequest: true until the seller cancels or ships them."""
    body = _json_body() or {}
    item_ids = body.get("order_item_ids")
    if item_ids is not None and (not isinstance(item_ids, list) or not all(isinstance(i, str) for i in item_ids)):
        return _error(400, "order_item_ids must be a list of order item ids")
    try:
        items = _state().request_cancellation(order_id, item_ids)
    except KeyError as exc:
        return _error(404, f"unknown order {order_id!r} or order item {exc.args[0]!r} in it")
    except ValueError as exc:
        return _error(409, str(exc))
    return jsonify({"order_id": order_id, "order_item_ids": [i.order_item_id for i in items]})


@bp.get("/shipments")
def shipments():
    return jsonify({"shipments": _state().shipment_log()})


@bp.get("/cancellations")
def cancellations():
    """Every PUT /retailer/orders/cancellation that arrived: {seller, received_at, http_status, body,
    order_item_id, process_status_id, status, error_message}."""
    return jsonify({"cancellations": _state().cancellation_log()})


# ------------------------------------------------------------------ offers
def _offer_views(state: BolState, offers: list) -> list[dict]:
    """The offers as GET /retailer/offers/{id} shows them, plus what only the fake knows: the
    seller, the title, and every PATCH of each in arrival order."""
    stocks = state.corrected_stocks(offers)
    updates: dict[str, list[dict]] = {o.offer_id: [] for o in offers}
    owners = {o.offer_id: o.seller for o in offers}
    for u in state.stock_updates_received:
        if owners.get(u.offer_id) == u.seller:      # another seller's PATCH of this id was a 404
            updates[u.offer_id].append({"received_at": u.received_at, "http_status": u.http_status,
                                        "body": u.body, "applied": u.applied})
    return [{**serialize.offer(o, corrected_stock=stocks[o.offer_id]), "seller": o.seller, "title": o.title,
             "updates": updates[o.offer_id]} for o in offers]


@bp.post("/offers")
def add_offers():
    """{client_id, offers: [{ean, reference?, title?, stock=0, managed_by_retailer=true,
    unit_price?, fulfilment_method="FBR"}]} or {client_id, count} for random ones."""
    state = _state()
    body = _json_body() or {}
    client_id = body.get("client_id")
    if client_id not in state.sellers:
        return _error(404, f"unknown seller {client_id!r}; POST /_sandbox/sellers first")
    specs, count = body.get("offers"), body.get("count")
    if specs is None and count is None:
        return _error(400, "offers (a list) or count is required")
    created = []
    with state.lock:
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10000:
                return _error(400, "count must be an integer between 1 and 10000")
            created = state.add_random_offers(client_id, count)
        if specs is not None:
            if not isinstance(specs, list) or not all(isinstance(o, dict) for o in specs):
                return _error(400, "offers must be a list of objects")
            problems = [_offer_spec_problem(o) for o in specs]
            if any(problems):
                return _error(400, next(p for p in problems if p))
            duplicate = next((o["ean"] for o in specs if state.offer_for_ean(client_id, o["ean"])), None)
            if duplicate is not None or len({o["ean"] for o in specs}) != len(specs):
                return _error(409, f"seller {client_id!r} already has an offer for EAN {duplicate or 'given twice'}")
            for spec in specs:
                created.append(state.add_offer(
                    client_id, spec["ean"], reference=spec.get("reference"), title=spec.get("title"),
                    stock=spec.get("stock", 0), managed_by_retailer=spec.get("managed_by_retailer", True),
                    unit_price=Decimal(str(spec["unit_price"])) if spec.get("unit_price") is not None else None,
                    fulfilment_method=spec.get("fulfilment_method", "FBR")))
        return jsonify({"offers": _offer_views(state, created)}), 201


def _offer_spec_problem(spec: dict) -> str | None:
    if not isinstance(spec.get("ean"), str) or not spec["ean"]:
        return "every offer needs an ean (a non-empty string)"
    stock = spec.get("stock", 0)
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        return "stock must be an integer >= 0"
    if not isinstance(spec.get("managed_by_retailer", True), bool):
        return "managed_by_retailer must be a boolean"
    if spec.get("reference") is not None and not isinstance(spec["reference"], str):
        return "reference must be a string"
    if spec.get("title") is not None and not isinstance(spec["title"], str):
        return "title must be a string"
    if spec.get("fulfilment_method", "FBR") not in ("FBR", "FBB"):
        return "fulfilment_method must be FBR or FBB"
    if spec.get("unit_price") is not None:
        try:
            if not 1 <= Decimal(str(spec["unit_price"])) <= 9999:
                return "unit_price must be between 1 and 9999"
        except InvalidOperation:
            return "unit_price must be a number"
    return None


@bp.get("/offers")
def dump_offers():
    """{"offers": [offer view, ...] (one seller's with ?client_id=, else everyone's),
    "updates": [every PATCH received, also those for unknown offers]}."""
    state = _state()
    client_id = request.args.get("client_id")
    with state.lock:
        offers = state.offers_of(client_id) if client_id else list(state.offers.values())
        updates = [{"seller": u.seller, "offer_id": u.offer_id, "received_at": u.received_at,
                    "http_status": u.http_status, "body": u.body, "applied": u.applied}
                   for u in state.stock_updates_received if not client_id or u.seller == client_id]
        return jsonify({"offers": _offer_views(state, offers), "updates": updates})


# ------------------------------------------------------------------ returns
@bp.post("/returns")
def add_return():
    """A buyer returns shipped items: {client_id, items: [{order_item_id, quantity=1, main_reason?,
    detailed_reason?, comments?, track_and_trace?, transporter_name?}]} -> 201 {return_id,
    rma_ids (one per item, in order), return (the Return JSON)}."""
    state = _state()
    body = _json_body() or {}
    items = body.get("items")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return _error(400, "items must be a non-empty list of {order_item_id, quantity}")
    try:
        record = state.register_return(body.get("client_id"), items)
    except KeyError as exc:
        return _error(404, f"unknown seller, or order item {exc.args[0]!r} is not one of the seller's")
    except ValueError as exc:
        return _error(409, str(exc))
    with state.lock:
        return jsonify({"return_id": record.return_id, "rma_ids": [i.rma_id for i in record.items],
                        "return": serialize.full_return(record)}), 201


@bp.get("/returns")
def dump_returns():
    """{"returns": [Return JSON + seller, ...] (?client_id= for one seller), "handlings": [every PUT
    /retailer/returns/{rma-id}: seller, received_at, http_status, body, rma_id, process_status_id,
    status, error_message]}."""
    state = _state()
    client_id = request.args.get("client_id")
    with state.lock:
        state.settle()
        records = [r for r in state.returns.values() if not client_id or r.seller == client_id]
        handlings = [h for h in state.return_handling_log() if not client_id or h["seller"] == client_id]
        return jsonify({"returns": [{**serialize.full_return(r), "seller": r.seller} for r in records],
                        "handlings": handlings})


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


def _settings(state: BolState) -> dict:
    return {**{name: getattr(state, name) for name in SETTINGS},
            "group_rates": {group: {"rate_per_second": rate, "rate_burst": burst}
                            for group, (rate, burst) in state.group_rates.items()}}


@bp.get("/settings")
def get_settings():
    state = _state()
    with state.lock:
        return jsonify(_settings(state))


@bp.put("/settings")
def put_settings():
    state = _state()
    body = _json_body()
    if body is None:
        return _error(400, "a JSON object is required")
    group_rates = body.pop("group_rates", None)
    for key, value in body.items():
        if key not in SETTINGS:
            return _error(400, f"unknown setting: {key}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _error(400, f"{key} must be a number >= 0")
    staged = {}
    if group_rates is not None:
        # {"offer-updates": {"rate_per_second": 5, "rate_burst": 10}, "orders": null (back to the default)}
        if not isinstance(group_rates, dict):
            return _error(400, "group_rates must be an object")
        for group, limits in group_rates.items():
            if group not in RATE_GROUPS:
                return _error(400, f"unknown rate group: {group} (one of {', '.join(RATE_GROUPS)})")
            if limits is None:
                staged[group] = None
                continue
            rate = limits.get("rate_per_second") if isinstance(limits, dict) else None
            burst = limits.get("rate_burst") if isinstance(limits, dict) else None
            if any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0 for v in (rate, burst)):
                return _error(400, f"group_rates.{group} needs rate_per_second and rate_burst, numbers >= 0")
            staged[group] = (float(rate), int(burst))
    with state.lock:
        for key, value in body.items():
            setattr(state, key, int(value) if key in ("token_expires_in", "rate_burst") else float(value))
        for group, limits in staged.items():
            if limits is None:
                state.group_rates.pop(group, None)
            else:
                state.group_rates[group] = limits
        return jsonify(_settings(state))


@bp.post("/tokens/expire")
def expire_tokens():
    return jsonify({"expired": _state().expire_tokens()})


@bp.get("/stats")
def stats():
    state = _state()
    with state.lock:
        return jsonify(state.stats.to_dict())
