"""The Shipment Tracking extension's REST API: /wp-json/wc-shipment-tracking/v3/orders/<id>/shipment-trackings.

It authenticates with the same WooCommerce API keys (WC_REST_Authentication covers every `wc-`
namespace). Adding an entry saves the order, so order.updated webhooks fire.
"""

from __future__ import annotations

from flask import Blueprint

from .api import get_state, json_body, require, respond
from .orders import save
from .tracking import add_tracking_item, item_to_json, tracking_items
from .wpjson import ApiError

bp = Blueprint("woo_tracking", __name__, url_prefix="/wp-json/wc-shipment-tracking/v3")


def _order_or_404(state, order_id: int):
    order = state.orders.get(order_id)
    if order is None:
        raise ApiError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
    return order


@bp.get("/orders/<int:order_id>/shipment-trackings")
def list_items(order_id: int):
    require("list")
    state = get_state()
    with state.lock:
        order = _order_or_404(state, order_id)
        return respond([item_to_json(item) for item in tracking_items(order)])


@bp.post("/orders/<int:order_id>/shipment-trackings")
def create(order_id: int):
    require("create")
    body = json_body()
    if not body.get("tracking_number"):
        raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): tracking_number",
                       params=["tracking_number"])
    provider = body.get("tracking_provider") or body.get("custom_tracking_provider") or ""
    state = get_state()
    with state.lock:
        order = _order_or_404(state, order_id)
        item = add_tracking_item(state, order, str(provider), str(body["tracking_number"]),
                                 body.get("date_shipped"), str(body.get("custom_tracking_link") or ""))
        save(state, order)
        return respond(item_to_json(item), 201)
