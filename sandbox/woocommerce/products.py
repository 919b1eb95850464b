"""Products and variations as WC_REST_Products_Controller and
WC_REST_Product_Variations_Controller (v3) see them: create/update, the collection query and the
JSON shape. Callers hold `state.lock`.

Facts mirrored from WooCommerce:
- Variations are posts of their own (post type product_variation, parent_id = the variable
  product), in the same id sequence as products and orders. GET /products lists products only;
  GET /products/<id> answers for a variation id too (type "variation"; it is also what a
  product.updated webhook for a variation carries); GET /products/<id>/variations lists one
  product's variations; WooCommerce 10.3+ adds GET /variations over every product.
- Webhooks: a REST create fires woocommerce_new_product / woocommerce_new_product_variation
  (product.created); every later save fires woocommerce_update_product /
  woocommerce_update_product_variation (product.updated) and stamps date_modified. Stock moved by
  orders and refunds saves the product as well (stock.py), so it fires product.updated too.
- `global_unique_id` (GTIN, UPC, EAN or ISBN; WooCommerce 9.2+) is on products and variations;
  a shop played as an older release neither serves nor stores it.
  WC_Product::set_global_unique_id() keeps only digits, "-" and X, and refuses a value another
  product or variation already has: 400 product_invalid_global_unique_id "Invalid or duplicated
  GTIN, UPC, EAN or ISBN." (data.resource_id = the owner). A duplicate SKU is 400
  product_invalid_sku "Invalid or duplicated SKU." (wc_product_has_unique_sku covers variations).
- A variation's manage_stock is true, false, or "parent" in responses (managing_stock(): its
  own flag is off and the parent manages stock); then stock_quantity shows the parent's stock.
- stock_quantity is only stored while the product manages stock (the controller ignores it
  otherwise); a managed product's stock_status follows its quantity (validate_props()).
- Collection filters as the CRUD controller has them: page, per_page (max 100), offset, order,
  orderby, after/before (date_created) and modified_after/modified_before (date_modified, both
  exclusive, WP_Date_Query), dates_are_gmt, include, exclude, parent, status (default any:
  everything but trash), sku (comma-separated), type (products), search, stock_status; with
  X-WP-Total / X-WP-TotalPages and Link headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .models import Product, meta_update
from .state import WooState
from .stock import managing_stock, save_product, sync_stock_status, view_stock_quantity
from .wpjson import ApiError, int_arg, invalid_param, is_integer, parse_bool, parse_rest_date, wc_date

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
POST_STATUSES = ("draft", "pending", "private", "publish", "future", "trash")
ORDERBY = ("date", "id", "include", "title", "slug", "modified", "menu_order", "price", "popularity", "rating")


# ---------------------------------------------------------------------------- create / update
def create_product(state: WooState, body: Mapping[str, Any]) -> Product:
    """POST /products."""
    _check(body, variation=False)
    now = state.now()
    product = Product(id=0, name=str(body.get("name") or "Product"), date_created=now, date_modified=now,
                      type=str(body.get("type") or "simple"))
    _apply(state, product, body)
    product.id = state.next_post_id()
    state.products[product.id] = product
    state.fire("product.created", product.id)
    return product


def update_product(state: WooState, product: Product, body: Mapping[str, Any]) -> Product:
    """PUT /products/<id> (also for a variation id, as WooCommerce allows)."""
    _check(body, variation=product.type == "variation")
    _apply(state, product, body)
    save_product(state, product)
    return product


def create_variation(state: WooState, parent: Product, body: Mapping[str, Any]) -> Product:
    """POST /products/<id>/variations."""
    _check(body, variation=True)
    now = state.now()
    variation = Product(id=0, name=parent.name, date_created=now, date_modified=now, type="variation",
                        parent_id=parent.id)
    _apply(state, variation, body)
    variation.name = variation_title(parent, variation)
    variation.id = state.next_post_id()
    state.products[variation.id] = variation
    state.fire("product.created", variation.id)      # woocommerce_new_product_variation
    return variation


def variation_title(parent: Product, variation: Product) -> str:
    """generate_product_title(): "Parent - Red, L" (attributes left out from 3 on)."""
    options = [str(a.get("option") or "") for a in variation.attributes if a.get("option")]
    if options and len(variation.attributes) < 3:
        return f"{parent.name} - {', '.join(options)}"
    return parent.name


def _check(body: Mapping[str, Any], *, variation: bool) -> None:
    for name in ("name", "sku", "regular_price", "global_unique_id", "status"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise invalid_param(name, f"{name} is not of type string.")
    if "stock_quantity" in body and body["stock_quantity"] is not None and (
            isinstance(body["stock_quantity"], bool) or not isinstance(body["stock_quantity"], int)):
        raise invalid_param("stock_quantity", "stock_quantity is not of type integer.")
    if "stock_status" in body and body["stock_status"] not in STOCK_STATUSES:
        raise invalid_param("stock_status", f"stock_status is not one of {', '.join(STOCK_STATUSES)}.")
    if "manage_stock" in body:
        parse_bool("manage_stock", body["manage_stock"])
    if not variation and "type" in body and body["type"] not in PRODUCT_TYPES:
        raise invalid_param("type", f"type is not one of {', '.join(PRODUCT_TYPES)}.")
    if "status" in body and body["status"] not in POST_STATUSES:
        raise invalid_param("status", f"status is not one of {', '.join(POST_STATUSES)}.")
    for name in ("meta_data", "attributes"):
        if name in body and not isinstance(body[name], list):
            raise invalid_param(name, f"{name} is not of type array.")


def clean_global_unique_id(value: Any) -> str:
    """set_global_unique_id(): only digits, "-" and X survive."""
    return re.sub(r"[^0-9Xx\-]", "", str(value or ""))


def _apply(state: WooState, product: Product, body: Mapping[str, Any]) -> None:
    if "sku" in body and body["sku"]:
        clash = any(p.sku == body["sku"] and p.id != product.id for p in state.products.values())
        if clash:
            raise ApiError(400, "product_invalid_sku", "Invalid or duplicated SKU.")
    # Before 9.2 `global_unique_id` is no argument at all: WordPress drops it unread.
    if "global_unique_id" in body and state.has_gtin:
        gtin = clean_global_unique_id(body["global_unique_id"])
        owner = next((p for p in state.products.values()
                      if gtin and p.global_unique_id == gtin and p.id != product.id), None)
        if owner is not None:
            raise ApiError(400, "product_invalid_global_unique_id", "Invalid or duplicated GTIN, UPC, EAN or ISBN.",
                           resource_id=owner.id)
        product.global_unique_id = gtin
    if "sku" in body:
        product.sku = body["sku"] or ""
    if "name" in body and product.type != "variation":
        product.name = body["name"]
    if "status" in body:
        product.status = body["status"]
    if "regular_price" in body:
        product.regular_price = body["regular_price"] or ""
    if "menu_order" in body and is_integer(body["menu_order"]):
        product.menu_order = int(body["menu_order"])
    if "attributes" in body and product.type == "variation":
        product.attributes = [{"name": str(a.get("name") or ""), "option": str(a.get("option") or "")}
                              for a in body["attributes"] if isinstance(a, dict)]
    if "manage_stock" in body:
        product.manage_stock = parse_bool("manage_stock", body["manage_stock"])
        if not product.manage_stock:
            product.stock_quantity = None
    if "stock_quantity" in body and product.manage_stock:
        product.stock_quantity = body["stock_quantity"]
    if "stock_status" in body and not product.manage_stock:
        product.stock_status = body["stock_status"]
    sync_stock_status(product)
    for entry in body.get("meta_data") or []:
        if isinstance(entry, dict) and "key" in entry:
            meta_update(product.meta, entry["key"], entry.get("value"), entry.get("id"), state.next_meta_id)


# ---------------------------------------------------------------------------- collection query
def query_products(state: WooState, args, candidates: list[Product], *, variations: bool) -> tuple[list[Product], int, int, int]:
    """The CRUD controller's collection query over `candidates`: (page, total, pages, page no.)."""
    page = int_arg(args, "page", 1, minimum=1)
    per_page = int_arg(args, "per_page", 10, minimum=1, maximum=100)
    offset = int_arg(args, "offset", None, minimum=0)
    parse_bool("dates_are_gmt", args.get("dates_are_gmt", "false"))   # site timezone is UTC
    bounds = {name: _date_arg(args, name) for name in ("after", "before", "modified_after", "modified_before")}
    order_dir = args.get("order", "desc")
    if order_dir not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    orderby = args.get("orderby", "date")
    if orderby not in ORDERBY:
        raise invalid_param("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
    status = args.get("status", "any")
    if status not in ("any", *POST_STATUSES):
        raise invalid_param("status", f"status is not one of any, {', '.join(POST_STATUSES)}.")
    ptype = args.get("type")
    if ptype is not None and (variations or ptype not in PRODUCT_TYPES):
        if not variations:
            raise invalid_param("type", f"type is not one of {', '.join(PRODUCT_TYPES)}.")
        ptype = None
    stock_status = args.get("stock_status")
    if stock_status is not None and stock_status not in STOCK_STATUSES:
        raise invalid_param("stock_status", f"stock_status is not one of {', '.join(STOCK_STATUSES)}.")
    include = _id_list(args, "include")
    exclude = set(_id_list(args, "exclude"))
    parents = _id_list(args, "parent")
    skus = [s for s in (args.get("sku") or "").split(",") if s] if args.get("sku") else []
    search = (args.get("search") or "").strip().lower()

    def keep(p: Product) -> bool:
        if status == "any" and p.status == "trash":
            return False
        if status != "any" and p.status != status:
            return False
        if not _within(p.date_created, bounds["after"], bounds["before"]):
            return False
        if not _within(p.date_modified, bounds["modified_after"], bounds["modified_before"]):
            return False
        if include and p.id not in include:
            return False
        if p.id in exclude or (parents and p.parent_id not in parents):
            return False
        if ptype is not None and p.type != ptype:
            return False
        if stock_status is not None and p.stock_status != stock_status:
            return False
        if skus and p.sku not in skus:
            return False
        return not search or search in p.name.lower()

    matches = [p for p in candidates if keep(p)]
    if orderby == "include" and include:
        matches.sort(key=lambda p: include.index(p.id))
    else:
        def sort_key(p: Product):
            if orderby in ("date",):
                return (p.date_created, p.id)
            if orderby == "modified":
                return (p.date_modified, p.id)
            if orderby in ("title", "slug"):
                return (p.name.lower(), p.id)
            if orderby == "menu_order":
                return (p.menu_order, p.name.lower(), p.id)
            return (p.id,)
        matches.sort(key=sort_key, reverse=(order_dir == "desc"))
    total = len(matches)
    pages = -(-total // per_page) if total else 0
    start = offset if offset is not None else (page - 1) * per_page
    return matches[start:start + per_page], total, pages, page


def _within(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or value > after) and (before is None or value < before)


def _date_arg(args, name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None:
        return None
    value = parse_rest_date(raw)
    if value is None:
        raise invalid_param(name, "Invalid date.")
    return value


def _id_list(args, name: str) -> list[int]:
    values = args.getlist(f"{name}[]") if hasattr(args, "getlist") else []
    if not values and args.get(name):
        values = [v for v in args.get(name).split(",") if v.strip()]
    try:
        return [int(v) for v in values]
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None


def products_only(state: WooState) -> list[Product]:
    return [p for p in state.products.values() if p.type != "variation"]


def variations_of(state: WooState, parent_id: int | None = None) -> list[Product]:
    return [p for p in state.products.values()
            if p.type == "variation" and (parent_id is None or p.parent_id == parent_id)]


# ---------------------------------------------------------------------------- JSON
def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _stock_fields(state: WooState, product: Product) -> dict:
    managed = managing_stock(state, product)
    return {
        "manage_stock": managed,
        "stock_quantity": view_stock_quantity(state, product),
        "stock_status": product.stock_status,
    }


def _price_html(state: WooState, price: str) -> str:
    """wc_price() as the product's price_html (EUR, two decimals; empty without a price)."""
    if not price:
        return ""
    return ('<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">'
            f'&euro;</span>{price}</bdi></span>')


def product_to_json(state: WooState, product: Product) -> dict:
    """GET /products/<id> (a variation id answers with type "variation"): every field the real
    shop answers, in its order (captured product.updated bodies); the ones the sandbox does not
    model carry WooCommerce's defaults. 9.x adds brands, post_password and global_unique_id."""
    site = state.site_url
    slug = _slug(product.name)
    variable = product.type == "variable"
    data = {
        "id": product.id,
        "name": product.name,
        "slug": slug,
        "permalink": f"{site}/product/{slug}/",
        "date_created": wc_date(product.date_created),
        "date_created_gmt": wc_date(product.date_created),
        "date_modified": wc_date(product.date_modified),
        "date_modified_gmt": wc_date(product.date_modified),
        "type": product.type,
        "status": product.status,
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": product.sku,
        "price": product.regular_price,
        "regular_price": product.regular_price,
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "purchasable": bool(product.regular_price) or variable,
        "total_sales": 0,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(state, product),
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "low_stock_amount": None,
        "sold_individually": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": product.parent_id,
        "purchase_note": "",
        "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
        "brands": [],
        "tags": [],
        "images": [],
        "attributes": [{"id": 0, "name": a["name"], "option": a["option"]} for a in product.attributes],
        "default_attributes": [],
        "variations": sorted(v.id for v in variations_of(state, product.id)) if variable else [],
        "grouped_products": [],
        "menu_order": product.menu_order,
        "price_html": _price_html(state, product.regular_price),
        "related_ids": [],
        "meta_data": [m.to_json() for m in product.meta],
        "stock_status": product.stock_status,
        "has_options": variable,
        "post_password": "",
        "global_unique_id": product.global_unique_id,
        "_links": {
            "self": [state.self_link(f"{site}/wp-json/wc/v3/products/{product.id}")],
            "collection": [{"href": f"{site}/wp-json/wc/v3/products"}],
        },
    }
    if not state.wc_at_least("9.6"):
        del data["brands"]           # Brands moved into WooCommerce core in 9.6
    if not state.has_gtin:
        del data["post_password"], data["global_unique_id"]
    if product.parent_id:
        data["_links"]["up"] = [{"href": f"{site}/wp-json/wc/v3/products/{product.parent_id}"}]
    return data


def variation_to_json(state: WooState, variation: Product) -> dict:
    """WC_REST_Product_Variations_Controller::prepare_object_for_response(): the schema's fields
    (unmodelled ones with WooCommerce's defaults), plus `name` and `parent_id`, which the
    controller adds outside its schema. 9.x adds `type` and (9.2+) `global_unique_id`."""
    site = state.site_url
    base = f"{site}/wp-json/wc/v3/products/{variation.parent_id}/variations"
    data = {
        "id": variation.id,
        "type": "variation",
        "date_created": wc_date(variation.date_created),
        "date_created_gmt": wc_date(variation.date_created),
        "date_modified": wc_date(variation.date_modified),
        "date_modified_gmt": wc_date(variation.date_modified),
        "description": "",
        "permalink": f"{site}/product/{_slug(variation.name)}/?variation_id={variation.id}",
        "sku": variation.sku,
        "global_unique_id": variation.global_unique_id,
        "price": variation.regular_price,
        "regular_price": variation.regular_price,
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "status": variation.status,
        "purchasable": bool(variation.regular_price),
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(state, variation),
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "low_stock_amount": None,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [{"id": 0, "name": a["name"], "option": a["option"]} for a in variation.attributes],
        "menu_order": variation.menu_order,
        "meta_data": [m.to_json() for m in variation.meta],
        "name": ", ".join(a["option"] for a in variation.attributes if a.get("option")),
        "parent_id": variation.parent_id,
        "_links": {
            "self": [state.self_link(f"{base}/{variation.id}")],
            "collection": [{"href": base}],
            "up": [{"href": f"{site}/wp-json/wc/v3/products/{variation.parent_id}"}],
        },
    }
    if not state.wc_at_least("9.0"):
        del data["type"]             # not in 7.8.2's variation schema; in 9.9.5's (guessed at 9.0)
    if not state.has_gtin:
        del data["global_unique_id"]
    return data
