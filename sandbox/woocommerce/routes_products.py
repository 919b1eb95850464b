"""/wp-json/wc/v3/products: list (page, per_page, sku, search), create, read, update."""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state, json_body, paged, require, respond
from .products import create_product, product_to_json, update_product
from .wpjson import ApiError, int_arg

bp = Blueprint("woo_products", __name__, url_prefix="/wp-json/wc/v3")


def _product_or_404(state, product_id: int):
    product = state.products.get(product_id)
    if product is None:
        raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
    return product


@bp.get("/products")
def list_products():
    require("list")
    state = get_state()
    page = int_arg(request.args, "page", 1, minimum=1)
    per_page = int_arg(request.args, "per_page", 10, minimum=1, maximum=100)
    sku = request.args.get("sku")
    search = (request.args.get("search") or "").lower()
    with state.lock:
        # The products list defaults to orderby=date, order=desc like orders.
        matches = sorted((p for p in state.products.values()
                          if (not sku or p.sku in sku.split(",")) and (not search or search in p.name.lower())),
                         key=lambda p: (p.date_created, p.id), reverse=True)
        total = len(matches)
        pages = -(-total // per_page) if total else 0
        data = [product_to_json(state, p) for p in matches[(page - 1) * per_page:page * per_page]]
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
