"""/wp-json/wc/v3/products, /products/<id>/variations and (WooCommerce 10.3+) /variations: the
routes over products.py.

Unknown ids as the controllers answer them: GET /products/<id> 404
woocommerce_rest_product_invalid_id, PUT 400 with the same code (the CRUD controller's update
check); a variation id under the wrong parent is 404 woocommerce_rest_product_variation_invalid_id.
GET /variations exists from WooCommerce 10.3 (WC_REST_Variations_Controller); on older shops the
route is unknown (404 rest_no_route) and callers walk /products/<id>/variations instead.
"""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state, json_body, paged, require, respond
from .products import (
    create_product,
    create_variation,
    product_to_json,
    products_only,
    query_products,
    update_product,
    variation_to_json,
    variations_of,
)
from .wpjson import ApiError

bp = Blueprint("woo_products", __name__, url_prefix="/wp-json/wc/v3")

GLOBAL_VARIATIONS_SINCE = "10.3.0"


def _product_or_404(state, product_id: int):
    product = state.products.get(product_id)
    if product is None:
        raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
    return product


def _variation_or_404(state, product_id: int, variation_id: int):
    variation = state.products.get(variation_id)
    if variation is None or variation.type != "variation" or variation.parent_id != product_id:
        raise ApiError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
    return variation


@bp.get("/products")
def list_products():
    require("list")
    state = get_state()
    with state.lock:
        # WC_REST_Products_V2_Controller::prepare_objects_query(): with `sku` the query covers
        # post types product and product_variation, so a variation's SKU is found here too
        candidates = list(state.products.values()) if request.args.get("sku") else products_only(state)
        items, total, pages, page = query_products(state, request.args, candidates, variations=False)
        data = [product_to_json(state, p) for p in items]
    return paged(data, total, pages, page, "/wc/v3/products")


@bp.post("/products")
def create():
    require("create")
    body = json_body()
    state = get_state()
    with state.lock:
        product = create_product(state, body)
        return respond(product_to_json(state, product), 201)


@bp.get("/products/<int:product_id>")
def get(product_id: int):
    require("read")
    state = get_state()
    with state.lock:
        return respond(product_to_json(state, _product_or_404(state, product_id)))


@bp.route("/products/<int:product_id>", methods=["PUT", "PATCH", "POST"])
def update(product_id: int):
    require("edit")
    body = json_body()
    state = get_state()
    with state.lock:
        product = state.products.get(product_id)
        if product is None:
            raise ApiError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        update_product(state, product, body)
        return respond(product_to_json(state, product))


# ---------------------------------------------------------------------------- variations
@bp.get("/products/<int:product_id>/variations")
def list_variations(product_id: int):
    require("list")
    state = get_state()
    with state.lock:
        # The query is post_parent = product_id: an unknown product simply has none.
        items, total, pages, page = query_products(state, request.args, variations_of(state, product_id),
                                                   variations=True)
        data = [variation_to_json(state, v) for v in items]
    return paged(data, total, pages, page, f"/wc/v3/products/{product_id}/variations")


@bp.post("/products/<int:product_id>/variations")
def create_variation_route(product_id: int):
    require("create")
    body = json_body()
    state = get_state()
    with state.lock:
        parent = _product_or_404(state, product_id)
        variation = create_variation(state, parent, body)
        return respond(variation_to_json(state, variation), 201)


@bp.get("/products/<int:product_id>/variations/<int:variation_id>")
def get_variation(product_id: int, variation_id: int):
    require("read")
    state = get_state()
    with state.lock:
        return respond(variation_to_json(state, _variation_or_404(state, product_id, variation_id)))


@bp.route("/products/<int:product_id>/variations/<int:variation_id>", methods=["PUT", "PATCH", "POST"])
def update_variation(product_id: int, variation_id: int):
    require("edit")
    body = json_body()
    state = get_state()
    with state.lock:
        variation = _variation_or_404(state, product_id, variation_id)
        update_product(state, variation, body)
        return respond(variation_to_json(state, variation))


@bp.get("/variations")
def list_all_variations():
    state = get_state()
    if not state.wc_at_least(GLOBAL_VARIATIONS_SINCE):
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
    require("list")
    with state.lock:
        items, total, pages, page = query_products(state, request.args, variations_of(state), variations=True)
        data = [variation_to_json(state, v) for v in items]
    return paged(data, total, pages, page, "/wc/v3/variations")
