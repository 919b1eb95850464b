"""/wp-json/wc/v3/orders: the routes over orders.py."""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state, json_body, paged, require, respond
from .orders import create_order, delete_order, order_to_json, query_orders, trash_order, update_order
from .wpjson import ApiError, json_response, parse_bool

bp = Blueprint("woo_orders", __name__, url_prefix="/wp-json/wc/v3")

# What a PHP fatal error after the commit looks like through the REST API.
CRITICAL_ERROR = {
    "code": "internal_server_error",
    "message": "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/"
               "documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>",
    "data": {"status": 500},
    "additional_errors": [],
}


def _invalid_id() -> ApiError:
    return ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


@bp.get("/orders")
def list_orders():
    require("list")
    state = get_state()
    with state.lock:
        items, total, pages, page = query_orders(state, request.args)
        data = [order_to_json(state, order) for order in items]
    return paged(data, total, pages, page, "/wc/v3/orders")


@bp.post("/orders")
def create():
    require("create")
    body = json_body()
    state = get_state()
    with state.lock:
        order = create_order(state, body)
        data = order_to_json(state, order)
        lose_answer = state.faults.fail_after_commit_next > 0
        if lose_answer:
            # The order is committed (and its webhooks are queued); the caller gets a 500 and
            # never learns the id, as when PHP dies after the database write.
            state.faults.fail_after_commit_next -= 1
            state.stats["fault_fail_after_commit"] += 1
    if lose_answer:
        return json_response(CRITICAL_ERROR, 500)
    return respond(data, 201, {"Location": f"{state.site_url}/wp-json/wc/v3/orders/{order.id}"})


@bp.get("/orders/<int:order_id>")
def get(order_id: int):
    require("read")
    state = get_state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            raise _invalid_id()
        return respond(order_to_json(state, order))


@bp.route("/orders/<int:order_id>", methods=["PUT", "PATCH", "POST"])
def update(order_id: int):
    require("edit")
    body = json_body()
    state = get_state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            # The CRUD controller answers 400 (not 404) for an unknown id on update.
            raise ApiError(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        update_order(state, order, body)
        data = order_to_json(state, order)
        lose_answer = state.faults.update_fail_after_commit_next > 0
        if lose_answer:
            state.faults.update_fail_after_commit_next -= 1
            state.stats["fault_fail_after_commit"] += 1
    if lose_answer:
        return json_response(CRITICAL_ERROR, 500)
    return respond(data)


@bp.delete("/orders/<int:order_id>")
def delete(order_id: int):
    require("delete")
    force = parse_bool("force", request.args.get("force", "false"))
    state = get_state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            raise _invalid_id()
        # WC_REST_CRUD_Controller::delete_item() prepares the answer before it deletes or
        # trashes: both answer with the order as it was (a trashed one not yet "trash")
        if order.status == "trash" and not force:
            trash_order(state, order)                # 410 woocommerce_rest_already_trashed
        data = order_to_json(state, order)
        if force:
            delete_order(state, order)
        else:
            trash_order(state, order)
    return respond(data)
