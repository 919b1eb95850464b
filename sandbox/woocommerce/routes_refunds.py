"""/wp-json/wc/v3/orders/<id>/refunds: list, create (refunds.py) and read one.

Refunds cannot be trashed; deleting one (woocommerce_delete_order_refund, an order.updated
hook) is not offered by the sandbox."""

from __future__ import annotations

from flask import Blueprint, g, request

from .api import get_state, json_body, paged, require, respond
from .refunds import create_refund, find_refund, query_refunds, refund_to_json
from .routes_orders import CRITICAL_ERROR
from .wpjson import ApiError, json_response

bp = Blueprint("woo_refunds", __name__, url_prefix="/wp-json/wc/v3")


def _order_or_404(state, order_id: int):
    order = state.orders.get(order_id)
    if order is None:
        raise ApiError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
    return order


@bp.get("/orders/<int:order_id>/refunds")
def list_refunds(order_id: int):
    require("list")
    state = get_state()
    with state.lock:
        # The query is post_parent = order_id: an unknown order simply has no refunds.
        items, total, pages, page = query_refunds(state.orders.get(order_id), request.args)
        data = [refund_to_json(state, r) for r in items]
    return paged(data, total, pages, page, f"/wc/v3/orders/{order_id}/refunds")


@bp.post("/orders/<int:order_id>/refunds")
def create(order_id: int):
    require("create")
    body = json_body()
    state = get_state()
    key = getattr(g, "woo_key", None)
    with state.lock:
        order = _order_or_404(state, order_id)
        refund = create_refund(state, order, body, user_id=key.user_id if key and key.user_id else 1)
        data = refund_to_json(state, refund)
        lose_answer = state.faults.refund_fail_after_commit_next > 0
        if lose_answer:
            state.faults.refund_fail_after_commit_next -= 1
            state.stats["fault_fail_after_commit"] += 1
    if lose_answer:
        return json_response(CRITICAL_ERROR, 500)
    # WC_REST_CRUD_Controller::create_item() formats rest_base, which still holds the route regex.
    location = f"{state.site_url}/wp-json/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/{refund.id}"
    return respond(data, 201, {"Location": location})


@bp.get("/orders/<int:order_id>/refunds/<int:refund_id>")
def get(order_id: int, refund_id: int):
    require("read")
    state = get_state()
    with state.lock:
        order = _order_or_404(state, order_id)
        refund = find_refund(order, refund_id)
        if refund is None:
            raise ApiError(404, "woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")
        return respond(refund_to_json(state, refund))
