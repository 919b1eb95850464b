"""Simple products: enough of WC_REST_Products_Controller for SKU matching and stock sync.

Saving a product through the REST API fires product.created / product.updated. Stock taken by
an order does not (wc_update_product_stock writes directly), exactly as in WooCommerce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import Product, meta_update
from .state import WooState
from .wpjson import ApiError, invalid_param, parse_bool, wc_date

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")


def create_product(state: WooState, body: Mapping[str, Any]) -> Product:
    _check(body)
    now = state.now()
    product = Product(id=0, name=str(body.get("name") or "Product"), date_created=now, date_modified=now)
    _apply(state, product, body)
    product.id = state.next_post_id()
    state.products[product.id] = product
    state.fire("product.created", product.id)
    return product


def update_product(state: WooState, product: Product, body: Mapping[str, Any]) -> Product:
    _check(body)
    _apply(state, product, body)
    product.date_modified = state.now()
    state.fire("product.updated", product.id)
    return product


def _check(body: Mapping[str, Any]) -> None:
    for name in ("name", "sku", "regular_price"):
        if name in body and not isinstance(body[name], str):
            raise invalid_param(name, f"{name} is not of type string.")
    if "stock_quantity" in body and body["stock_quantity"] is not None and (
            isinstance(body["stock_quantity"], bool) or not isinstance(body["stock_quantity"], int)):
        raise invalid_param("stock_quantity", "stock_quantity is not of type integer.")
    if "stock_status" in body and body["stock_status"] not in STOCK_STATUSES:
        raise invalid_param("stock_status", f"stock_status is not one of {', '.join(STOCK_STATUSES)}.")
    if "manage_stock" in body:
        parse_bool("manage_stock", body["manage_stock"])


def _apply(state: WooState, product: Product, body: Mapping[str, Any]) -> None:
    if "sku" in body and body["sku"]:
        clash = any(p.sku == body["sku"] and p.id != product.id for p in state.products.values())
        if clash:
            raise ApiError(400, "product_invalid_sku", "Invalid or duplicated SKU.")
    if "sku" in body:
        product.sku = body["sku"]
    if "name" in body:
        product.name = body["name"]
    if "regular_price" in body:
        product.regular_price = body["regular_price"]
    if "manage_stock" in body:
        product.manage_stock = parse_bool("manage_stock", body["manage_stock"])
    if "stock_quantity" in body and product.manage_stock:
        product.stock_quantity = body["stock_quantity"]
    if "stock_status" in body and not product.manage_stock:
        product.stock_status = body["stock_status"]
    if product.manage_stock and product.stock_quantity is not None:
        # validate_props(): a managed product's stock status follows its quantity.
        product.stock_status = "instock" if product.stock_quantity > 0 else "outofstock"
    for entry in body.get("meta_data") or []:
        if isinstance(entry, dict) and "key" in entry:
            meta_update(product.meta, entry["key"], entry.get("value"), entry.get("id"), state.next_meta_id)


def product_to_json(state: WooState, product: Product) -> dict:
    site = state.site_url
    slug = product.name.lower().replace(" ", "-")
    return {
        "id": product.id,
        "name": product.name,
        "slug": slug,
        "permalink": f"{site}/product/{slug}/",
        "date_created": wc_date(product.date_created),
        "date_created_gmt": wc_date(product.date_created),
        "date_modified": wc_date(product.date_modified),
        "date_modified_gmt": wc_date(product.date_modified),
        "type": "simple",
        "status": product.status,
        "sku": product.sku,
        "price": product.regular_price,
        "regular_price": product.regular_price,
        "sale_price": "",
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity,
        "stock_status": product.stock_status,
        "meta_data": [m.to_json() for m in product.meta],
        "_links": {
            "self": [{"href": f"{site}/wp-json/wc/v3/products/{product.id}"}],
            "collection": [{"href": f"{site}/wp-json/wc/v3/products"}],
        },
    }
