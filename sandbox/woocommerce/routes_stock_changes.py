"""/_sandbox/products/stock-changes: many merchant stock edits in one control call.

Each change is applied as its own wp-admin save (its own request in WordPress), in the order
given: one product.updated per change, handed to the webhook queue as that request ends, where
deliveries of the same product still waiting coalesce as WooCommerce's queue does. Tests and
benchmarks use it to make 10,000 changes in a second or two instead of 10,000 HTTP calls.

  POST /_sandbox/products/stock-changes   {"changes": [[product_id, stock_quantity], ...]}
        -> {"applied": N}. All checked first: an unknown product or an unmanaged stock answers
           400 and changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state
from .stock import managing_stock, save_product
from .wpjson import json_response

bp = Blueprint("woo_stock_changes", __name__, url_prefix="/_sandbox")

MAX_CHANGES = 100_000


@bp.post("/products/stock-changes")
def stock_changes():
    body = request.get_json(silent=True)
    changes = body.get("changes") if isinstance(body, dict) else None
    if not isinstance(changes, list) or len(changes) > MAX_CHANGES:
        return json_response({"error": f"changes: a list of at most {MAX_CHANGES} [product_id, stock_quantity]"}, 400)
    state = get_state()
    with state.lock:
        for i, change in enumerate(changes):
            if (not isinstance(change, list) or len(change) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in change)):
                return json_response({"error": f"changes[{i}]: expected [product_id, stock_quantity]"}, 400)
            product = state.products.get(change[0])
            if product is None:
                return json_response({"error": f"changes[{i}]: no product {change[0]}"}, 400)
            if managing_stock(state, product) is not True:
                return json_response({"error": f"changes[{i}]: product {change[0]} does not manage its own stock"}, 400)
    # the request's own event buffer is closed here: each save is its own request in WordPress
    state.end_request()
    try:
        for product_id, quantity in changes:
            state.begin_request()
            with state.lock:
                product = state.products[product_id]
                product.stock_quantity = quantity
                save_product(state, product)
            state.end_request()
    finally:
        state.begin_request()       # the app's after-request hook closes a buffer again
    return json_response({"applied": len(changes)})
