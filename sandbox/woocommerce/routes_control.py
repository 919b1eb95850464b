"""/_sandbox/: test and demo controls, no auth. Merchant actions here go through the same order
and product code as wp-admin would, so each one is one save and one order.updated (or
product.updated) webhook.

Products:
  GET  /_sandbox/products                 every product and variation, by id
  POST /_sandbox/products                 [{name, sku, global_unique_id, regular_price, manage_stock,
                                            stock_quantity, status, meta_data, type,
                                            variations: [{sku, global_unique_id, regular_price,
                                            manage_stock, stock_quantity, attributes, meta_data}]}]
                                          (or {"products": [...]}): created as the REST API would
                                          (product.created each); answers 201 with a flat list:
                                          each product followed by its variations. Not atomic: an
                                          invalid entry (WP_Error JSON) leaves the earlier ones.
  POST /_sandbox/products/<id>/stock      {stock_quantity, manage_stock?}: the merchant edits the
                                          stock in wp-admin (one save, one product.updated). A
                                          variation whose stock its parent manages answers 400.
Orders, besides status/complete:
  POST /_sandbox/orders/<id>/trash        the merchant trashes it in wp-admin: order.updated (status
                                          trash) then order.deleted without HPOS, only
                                          order.deleted with HPOS (WooState.hpos)
  POST /_sandbox/orders/<id>/restore      "Restore" from the Trash: its earlier status, order.updated
  POST /_sandbox/orders/<id>/tracking     {tracking_provider, tracking_number, products_list?:
                                          [{item_id, qty}]}: the merchant adds a tracking entry
                                          (with products_list: of those lines only, as AST Pro's
                                          tracking per item writes it); one save, order.updated.
  POST /_sandbox/orders/<id>/refund       {amount, reason, line_items: [{id, quantity, refund_total}],
                                          restock_items (default true)}: a manual refund in
                                          wp-admin (wc_create_refund with refund_payment off).
"""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state
from .models import ORDER_STATUSES
from .orders import order_to_json, restore_order, save, set_status, trash_order
from .products import create_product, create_variation, product_to_json
from .refunds import create_refund, refund_to_json
from .stock import managing_stock, save_product
from .tracking import add_tracking_item, products_list_for
from .wpjson import ApiError, json_response, wc_date

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
        products = None
        if body.get("products_list") is not None:
            products, problem = products_list_for(order, body["products_list"])
            if problem:
                return problem
        add_tracking_item(state, order, str(body.get("tracking_provider") or ""), str(body["tracking_number"]),
                          products_list=products)
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


@bp.post("/orders/<int:order_id>/trash")
def trash(order_id: int):
    """The merchant moves the order to the Trash in wp-admin (the order list's row action, or
    the edit screen): with HPOS only order.deleted, without it order.updated first."""
    def change(state, order):
        if order.status == "trash":
            return "the order is already in the Trash"
        trash_order(state, order, from_admin=True)

    return _merchant_change(order_id, change)


@bp.post("/orders/<int:order_id>/restore")
def restore(order_id: int):
    """"Restore" in the admin's Trash: back to the status it had (order.updated)."""
    def change(state, order):
        if order.status != "trash":
            return "the order is not in the Trash"
        restore_order(state, order)

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


# ---------------------------------------------------------------------------- products
@bp.get("/products")
def all_products():
    state = get_state()
    with state.lock:
        return json_response([product_to_json(state, p) for p in sorted(state.products.values(), key=lambda p: p.id)])


@bp.post("/products")
def bulk_products():
    body = request.get_json(silent=True)
    specs = body.get("products") if isinstance(body, dict) else body
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        return _error(400, "a list of products is required")
    state = get_state()
    created = []
    with state.lock:
        for spec in specs:
            variations = spec.get("variations") or []
            if not isinstance(variations, list) or not all(isinstance(v, dict) for v in variations):
                return _error(400, "variations must be a list of objects")
            fields = {k: v for k, v in spec.items() if k != "variations"}
            if variations:
                fields.setdefault("type", "variable")
            product = create_product(state, fields)
            created.append(product)
            for raw in variations:
                created.append(create_variation(state, product, raw))
        return json_response([product_to_json(state, p) for p in created], 201)


@bp.post("/products/<int:product_id>/stock")
def merchant_stock(product_id: int):
    """wp-admin › Products › Edit › Inventory: the merchant types a new stock quantity."""
    body = _body()
    quantity = body.get("stock_quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return _error(400, "stock_quantity (an integer) is required")
    state = get_state()
    with state.lock:
        product = state.products.get(product_id)
        if product is None:
            return _error(404, f"no product {product_id}")
        if "manage_stock" in body:
            product.manage_stock = bool(body["manage_stock"])
        if managing_stock(state, product) == "parent":
            return _error(400, f"the stock of {product_id} is managed by its parent {product.parent_id}")
        if not product.manage_stock:
            return _error(400, f"product {product_id} does not manage stock")
        product.stock_quantity = quantity
        save_product(state, product)
        return json_response(product_to_json(state, product))


@bp.post("/orders/<int:order_id>/refund")
def merchant_refund(order_id: int):
    """wp-admin › Orders › Refund › "Refund manually": wc_create_refund() without the gateway."""
    body = _body()
    rest_body = {"amount": str(body.get("amount", "0")), "reason": str(body.get("reason") or ""),
                 "line_items": body.get("line_items") or [], "api_refund": False,
                 "api_restock": bool(body.get("restock_items", True))}
    state = get_state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            return _error(404, f"no order {order_id}")
        try:
            refund = create_refund(state, order, rest_body)
        except ApiError as exc:
            return _error(exc.status if exc.status < 500 else 400, exc.message)
        return json_response(refund_to_json(state, refund), 201)
