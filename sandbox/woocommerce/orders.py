"""Orders as WC_REST_Orders_Controller (v3) sees them: validation, create/update/trash, the
collection query, and the JSON shape. Callers hold `state.lock` and call `state.fire()` through
the helpers here, so webhooks follow the same hooks WooCommerce uses:

    create            -> woocommerce_new_order     -> order.created, then order.updated
    any later save    -> woocommerce_update_order  -> order.updated
    trash             -> woocommerce_trash_order   -> order.deleted   (payload {"id": N}); from
                         the admin list without HPOS, order.updated (status "trash") first
    restore           -> one save, then woocommerce_untrash_order -> order.updated, order.restored
    force delete      -> no order.* webhook (WooCommerce hooks order.deleted to trashing only)

Status changes run the stock hooks (stock.py): wc_maybe_reduce_stock_levels on processing,
completed and on-hold (and payment_complete), wc_maybe_increase_stock_levels on cancelled and
pending, both guarded by the order's `_order_stock_reduced` flag; each stock move saves the
product, so product.updated webhooks follow. A status change also leaves the note WooCommerce's
WC_Order::status_transition() writes.

Removing a line through the REST API (PUT with {"id", "quantity": 0}, or a null product_id)
calls $order->remove_item() and nothing else: the stock that line took is NOT given back
(WC_REST_Orders_V2_Controller::prepare_object_for_database; wc_maybe_adjust_line_item_product_stock
runs only for lines that are updated, not removed), and a later cancellation cannot give it back
either, since wc_increase_stock_levels() only walks the remaining lines. Taking lines out of an
order with their stock is done with a refund of those lines with restock (refunds.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .models import (
    ORDER_STATUS_NAMES,
    ORDER_STATUSES,
    PAID_STATUSES,
    STOCK_REDUCING_STATUSES,
    LineItem,
    Order,
    Product,
    ShippingLine,
    meta_update,
)
from .notes import add_order_note
from .state import WooState
from .stock import increase_order_stock, item_product, reduce_order_stock
from .wpjson import ApiError, int_arg, invalid_param, is_integer, parse_bool, parse_rest_date, wc_date

BILLING_FIELDS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state",
                  "postcode", "country", "email", "phone")
SHIPPING_FIELDS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state",
                   "postcode", "country", "phone")
CURRENCIES = {"EUR": "€", "USD": "$", "GBP": "£", "PLN": "zł", "SEK": "kr", "DKK": "kr", "CHF": "CHF"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TWO_PLACES = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(TWO_PLACES))


# ---------------------------------------------------------------------------- create / update
def create_order(state: WooState, body: Mapping[str, Any]) -> Order:
    """POST /orders. Raises ApiError before anything is stored if the body is invalid."""
    _check_types(body)
    if body.get("id"):
        raise ApiError(400, "woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.")
    now = state.now()
    order = Order(id=0, order_key="wc_order_" + state.random_string(13), date_created=now, date_modified=now)
    _apply_fields(state, order, body)
    for index, raw in enumerate(body.get("line_items") or []):
        order.line_items.append(_new_line_item(state, raw, index))
    _recalculate(order)
    requested_status = body.get("status")
    # Only now does the order get an id: a rejected body never burns one.
    order.id = state.next_post_id()
    state.orders[order.id] = order
    # The first save fires woocommerce_new_order; the status is set and saved afterwards, so
    # stock moved by that status (and its product.updated webhooks) comes after order.created.
    state.fire("order.created", order.id)
    _set_status(state, order, requested_status or "pending")
    # The v3 controller saves a new order more than once (calculate_totals() saves, then the
    # status is set and saved), so a REST create also fires order.updated (woocommerce#43019).
    # Receivers can get order.updated for an order whose creation answer has not arrived yet.
    state.fire("order.updated", order.id)
    if parse_bool("set_paid", body.get("set_paid", False)):
        _payment_complete(state, order)
    return order


def update_order(state: WooState, order: Order, body: Mapping[str, Any]) -> Order:
    """PUT /orders/<id>."""
    _check_types(body)
    _apply_fields(state, order, body)
    for index, raw in enumerate(body.get("line_items") or []):
        _update_line_item(state, order, raw, index)
    if "line_items" in body or "shipping_lines" in body:
        _recalculate(order)
    if body.get("status"):
        _set_status(state, order, body["status"])
    save(state, order)
    # The controller calls payment_complete() on update only while the order needs payment.
    if parse_bool("set_paid", body.get("set_paid", False)) and order.status in ("pending", "failed"):
        _payment_complete(state, order)
    return order


def save(state: WooState, order: Order) -> None:
    """$order->save() on an existing order."""
    order.date_modified = state.now()
    state.fire("order.updated", order.id)


def set_status(state: WooState, order: Order, status: str) -> None:
    """Merchant changes the status in wp-admin: one save, one order.updated."""
    _set_status(state, order, status)
    save(state, order)


TRASH_META = ("_wp_trash_meta_status", "_wp_trash_meta_time")


def trash_order(state: WooState, order: Order, *, from_admin: bool = False) -> None:
    """Move to the Trash. Through the REST API ($order->delete()) and from the admin with HPOS
    (OrdersTableDataStore::trash_order) only woocommerce_trash_order runs: order.deleted alone.
    From the admin list without HPOS, wp_trash_post() saves the post with status trash first, so
    order.updated (its body built when it is sent: status "trash") comes before order.deleted."""
    if order.status == "trash":
        raise ApiError(410, "woocommerce_rest_already_trashed", "The shop_order has already been deleted.")
    order.trashed_from = order.status
    order.status = "trash"
    order.date_modified = now = state.now()
    meta_update(order.meta, TRASH_META[0], f"wc-{order.trashed_from}", None, state.next_meta_id)
    meta_update(order.meta, TRASH_META[1], str(int(now.timestamp())), None, state.next_meta_id)
    if from_admin and not state.hpos:
        state.fire("order.updated", order.id)
    state.fire("order.deleted", order.id)


def restore_order(state: WooState, order: Order) -> None:
    """"Restore" in the admin's Trash (wc untrash): the status it had before, one save
    (order.updated), then woocommerce_untrash_order (order.restored)."""
    if order.status != "trash":
        raise ApiError(400, "woocommerce_rest_not_trashed", "The order is not in the Trash.")
    order.status, order.trashed_from = order.trashed_from or "pending", None
    order.meta = [m for m in order.meta if m.key not in TRASH_META]
    save(state, order)
    state.fire("order.restored", order.id)


def delete_order(state: WooState, order: Order) -> None:
    state.orders.pop(order.id, None)


# ---------------------------------------------------------------------------- validation
def _check_types(body: Mapping[str, Any]) -> None:
    """The schema checks WordPress runs before the controller sees the request."""
    if "status" in body and body["status"] not in ORDER_STATUSES:
        raise invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
    for name in ("billing", "shipping"):
        if name in body and not isinstance(body[name], dict):
            raise invalid_param(name, f"{name} is not of type object.")
    for name in ("line_items", "meta_data", "shipping_lines"):
        if name in body and not isinstance(body[name], list):
            raise invalid_param(name, f"{name} is not of type array.")
    for index, item in enumerate(body.get("line_items") or []):
        if not isinstance(item, dict):
            raise invalid_param("line_items", f"line_items[{index}] is not of type object.")
        for field in ("quantity", "product_id", "variation_id"):
            if field in item and not is_integer(item[field]):
                raise invalid_param("line_items", f"line_items[{index}][{field}] is not of type integer.")
        for field in ("name", "sku", "total", "subtotal"):
            # WordPress does not coerce: a JSON number for a string field is a 400.
            if field in item and not isinstance(item[field], str):
                raise invalid_param("line_items", f"line_items[{index}][{field}] is not of type string.")
    for index, entry in enumerate(body.get("meta_data") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("key", ""), str):
            raise invalid_param("meta_data", f"meta_data[{index}] is not of type object.")
    for index, line in enumerate(body.get("shipping_lines") or []):
        if not isinstance(line, dict) or not isinstance(line.get("total", ""), str):
            raise invalid_param("shipping_lines", f"shipping_lines[{index}][total] is not of type string.")
    for name in ("customer_note", "payment_method", "payment_method_title", "transaction_id", "currency"):
        if name in body and not isinstance(body[name], str):
            raise invalid_param(name, f"{name} is not of type string.")
    if "set_paid" in body:
        parse_bool("set_paid", body["set_paid"])
    if "currency" in body and body["currency"] not in CURRENCIES:
        raise ApiError(400, "order_invalid_currency", "Invalid currency code")
    email = (body.get("billing") or {}).get("email") if isinstance(body.get("billing"), dict) else None
    if email and not _EMAIL.match(str(email)):
        raise ApiError(400, "customer_invalid_billing_email", "Invalid billing email address")


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise invalid_param("line_items", f"{where} is not a valid decimal.") from None


# ---------------------------------------------------------------------------- field mapping
def _apply_fields(state: WooState, order: Order, body: Mapping[str, Any]) -> None:
    for name, allowed in (("billing", BILLING_FIELDS), ("shipping", SHIPPING_FIELDS)):
        if isinstance(body.get(name), dict):
            target = getattr(order, name)
            for key, value in body[name].items():
                if key in allowed:
                    target[key] = "" if value is None else str(value)
    for name in ("customer_note", "payment_method", "payment_method_title", "transaction_id", "currency"):
        if name in body:
            setattr(order, name, body[name])
    if "customer_id" in body and is_integer(body["customer_id"]):
        order.customer_id = int(body["customer_id"])
    if "parent_id" in body and is_integer(body["parent_id"]):
        order.parent_id = int(body["parent_id"])
    # `created_via`: 7.8.2 has it read-only and records "rest-api" for every REST create; 9.9.5
    # stores what a create sends (a string; "rest-api" when none is sent). Updates never change it.
    if state.stores_created_via and not order.id and isinstance(body.get("created_via"), str) and body["created_via"]:
        order.created_via = body["created_via"]
    for entry in body.get("meta_data") or []:
        if "key" in entry:
            meta_update(order.meta, entry["key"], entry.get("value"), _int_or_none(entry.get("id")),
                        state.next_meta_id)
    for index, raw in enumerate(body.get("shipping_lines") or []):
        order.shipping_lines.append(ShippingLine(
            id=state.next_item_id(), method_id=str(raw.get("method_id", "")),
            method_title=str(raw.get("method_title", "")),
            total=_decimal(raw.get("total", "0"), f"shipping_lines[{index}][total]")))


def _int_or_none(value: Any) -> int | None:
    return int(value) if is_integer(value) else None


def _product_for(state: WooState, raw: Mapping[str, Any], creating: bool) -> tuple[Product | None, bool]:
    """WC_REST_Orders_V2_Controller::get_product_id(): sku first (wc_get_product_id_by_sku:
    products and variations, post_status != 'trash'), then product_id when no variation_id is given,
    then variation_id; on create a line without any of them is refused. An unknown sku or id is
    not an error: prepare_line_items() links the product only `if ( $product && ...)`, so the
    line is stored with product_id 0 and variation_id 0 (and takes no stock)."""
    if raw.get("sku"):
        for product in state.products.values():
            if product.sku and product.sku == raw["sku"] and product.status != "trash":
                return product, True
        return None, True
    ref = raw.get("product_id") if not raw.get("variation_id") else raw.get("variation_id")
    if ref:
        return state.products.get(int(ref)), True     # wc_get_product(): any post status
    if creating:
        raise ApiError(400, "woocommerce_rest_required_product_reference", "Product ID or SKU is required.")
    return None, False


def _new_line_item(state: WooState, raw: Mapping[str, Any], index: int) -> LineItem:
    product, _ = _product_for(state, raw, creating=True)
    quantity = int(raw.get("quantity", 1))
    # product_id / variation_id are set by linking a product only (WC_Order_Item_Product::set_product);
    # the posted ids themselves are not stored
    item = LineItem(id=state.next_item_id(), name="", quantity=quantity, total=Decimal(0), subtotal=Decimal(0))
    if product is not None:
        _link_product(item, product)
        price = _decimal(product.regular_price or "0", "price") * quantity
        item.total = item.subtotal = price
    _set_item_props(item, raw, index)
    for entry in raw.get("meta_data") or []:
        if isinstance(entry, dict) and "key" in entry:
            meta_update(item.meta, entry["key"], entry.get("value"), None, state.next_meta_id)
    return item


def _update_line_item(state: WooState, order: Order, raw: Mapping[str, Any], index: int) -> None:
    if not raw.get("id"):
        order.line_items.append(_new_line_item(state, raw, index))
        return
    item = next((li for li in order.line_items if li.id == int(raw["id"])), None)
    if item is None:
        raise ApiError(400, "woocommerce_rest_invalid_item_id", "Order item ID provided is not associated with order.")
    if "quantity" in raw and int(raw["quantity"] or 0) == 0:
        order.line_items.remove(item)      # v3: quantity 0 (or null) with an id removes the line
        return
    product, referenced = _product_for(state, raw, creating=False)
    if referenced and product is not None:
        _link_product(item, product)
    _set_item_props(item, raw, index)


def _link_product(item: LineItem, product: Product) -> None:
    """WC_Order_Item_Product::set_product(): a variation sets variation_id and its parent as
    product_id."""
    if product.type == "variation":
        item.product_id, item.variation_id = product.parent_id, product.id
    else:
        item.product_id = product.id
    item.name = product.name


def _set_item_props(item: LineItem, raw: Mapping[str, Any], index: int) -> None:
    if "name" in raw:
        item.name = raw["name"]
    if "quantity" in raw:
        item.quantity = int(raw["quantity"])
    if "total" in raw:
        item.total = _decimal(raw["total"], f"line_items[{index}][total]")
        # WC_Order_Item_Product::set_total(): the subtotal is never below the total.
        if item.subtotal < item.total:
            item.subtotal = item.total
    if "subtotal" in raw:
        item.subtotal = _decimal(raw["subtotal"], f"line_items[{index}][subtotal]")


def _recalculate(order: Order) -> None:
    """calculate_totals() without taxes, coupons or fees: the sandbox shop has none."""
    order.total = (sum((li.total for li in order.line_items), Decimal(0))
                   + sum((sl.total for sl in order.shipping_lines), Decimal(0)))


# ---------------------------------------------------------------------------- status & stock
def _set_status(state: WooState, order: Order, status: str) -> None:
    """WC_Order::set_status() + the save-time side effects of a status change
    (status_transition(): the woocommerce_order_status_<to> hooks, then the transition note)."""
    previous, order.status = order.status, status
    now = state.now()
    if status in PAID_STATUSES and order.date_paid is None:
        order.date_paid = now                           # maybe_set_date_paid()
    if status == "completed" and order.date_completed is None:
        order.date_completed = now                      # maybe_set_date_completed()
    elif status != "completed" and previous == "completed":
        order.date_completed = None
    if status in STOCK_REDUCING_STATUSES and not order.stock_reduced:
        reduce_order_stock(state, order)                # wc_maybe_reduce_stock_levels()
        order.stock_reduced = True
    elif status in ("cancelled", "pending") and order.stock_reduced:
        increase_order_stock(state, order)              # wc_maybe_increase_stock_levels()
        order.stock_reduced = False
    if previous != status:
        add_order_note(state, order, f"Order status changed from {ORDER_STATUS_NAMES.get(previous, previous)} "
                                     f"to {ORDER_STATUS_NAMES.get(status, status)}.")


def _payment_complete(state: WooState, order: Order) -> None:
    """WC_Order::payment_complete(): only from pending/on-hold/failed/cancelled does it change
    the status (processing, or completed when no line needs shipping) and save again."""
    if order.status not in ("pending", "on-hold", "failed", "cancelled"):
        return
    needs_processing = any(li.product_id in state.products for li in order.line_items)
    if order.date_paid is None:
        order.date_paid = state.now()
    _set_status(state, order, "processing" if needs_processing else "completed")
    save(state, order)


# ---------------------------------------------------------------------------- JSON
def order_to_json(state: WooState, order: Order) -> dict:
    site = state.site_url
    total = order.total
    products = state.products
    return {
        "id": order.id,
        "parent_id": order.parent_id,
        "status": order.status,
        "currency": order.currency,
        "version": state.wc_version,
        "prices_include_tax": False,
        "date_created": wc_date(order.date_created),
        "date_modified": wc_date(order.date_modified),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": money(sum((sl.total for sl in order.shipping_lines), Decimal(0))),
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": money(total),
        "total_tax": "0.00",
        "customer_id": order.customer_id,
        "order_key": order.order_key,
        "billing": {name: order.billing.get(name, "") for name in BILLING_FIELDS},
        "shipping": {name: order.shipping.get(name, "") for name in SHIPPING_FIELDS},
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": order.transaction_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": order.created_via,
        "customer_note": order.customer_note,
        "date_completed": wc_date(order.date_completed),
        "date_paid": wc_date(order.date_paid),
        "cart_hash": "",
        "number": str(order.id),
        "meta_data": [m.to_json() for m in order.meta],
        "line_items": [_line_item_json(state, li) for li in order.line_items],
        "tax_lines": [],
        "shipping_lines": [{"id": sl.id, "method_title": sl.method_title, "method_id": sl.method_id,
                            "instance_id": "", "total": money(sl.total), "total_tax": "0.00",
                            "taxes": [], "meta_data": []} for sl in order.shipping_lines],
        "fee_lines": [],
        "coupon_lines": [],
        # get_refunds() is newest first.
        "refunds": [{"id": r.id, "reason": r.reason, "total": "-" + money(r.amount)}
                    for r in sorted(order.refunds, key=lambda r: (r.date_created, r.id), reverse=True)],
        "payment_url": f"{site}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
        "is_editable": order.status in ("pending", "on-hold", "auto-draft"),
        "needs_payment": order.status in ("pending", "failed") and total > 0,
        "needs_processing": any(li.product_id in products for li in order.line_items),
        "date_created_gmt": wc_date(order.date_created),
        "date_modified_gmt": wc_date(order.date_modified),
        "date_completed_gmt": wc_date(order.date_completed),
        "date_paid_gmt": wc_date(order.date_paid),
        "currency_symbol": CURRENCIES.get(order.currency, order.currency),
        "_links": _order_links(state, order),
    }


def _order_links(state: WooState, order: Order) -> dict:
    """9.9.5 self links carry targetHints (WordPress 6.7+) and orders link their email
    templates (the actions/email_templates route, not in 7.8.2; guessed at 9.8)."""
    site = state.site_url
    links = {
        "self": [state.self_link(f"{site}/wp-json/wc/v3/orders/{order.id}")],
        "collection": [{"href": f"{site}/wp-json/wc/v3/orders"}],
    }
    if state.wc_at_least("9.8"):
        links["email_templates"] = [{"embeddable": True,
                                     "href": f"{site}/wp-json/wc/v3/orders/{order.id}/actions/email_templates"}]
    return links


def _line_item_json(state: WooState, item: LineItem) -> dict:
    product = item_product(state, item)
    return {
        "id": item.id,
        "name": item.name,
        "product_id": item.product_id,
        "variation_id": item.variation_id,
        "quantity": item.quantity,
        "tax_class": "",
        "subtotal": money(item.subtotal),
        "subtotal_tax": "0.00",
        "total": money(item.total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [{**m.to_json(), "display_key": m.key, "display_value": m.value} for m in item.meta],
        "sku": product.sku if product else None,
        "price": float(item.total / item.quantity) if item.quantity else 0.0,
        "image": {"id": "", "src": ""},
        # get_order_item_data(): the parent's title when the product is a variation.
        "parent_name": (state.products[product.parent_id].name
                        if product is not None and product.type == "variation" and product.parent_id in state.products
                        else None),
    }


# ---------------------------------------------------------------------------- collection query
ORDERBY = ("date", "id", "include", "title", "slug", "modified")


def query_orders(state: WooState, args) -> tuple[list[Order], int, int, int]:
    """GET /orders: returns (page of orders, total, total pages, page)."""
    page = int_arg(args, "page", 1, minimum=1)
    per_page = int_arg(args, "per_page", 10, minimum=1, maximum=100)
    offset = int_arg(args, "offset", None, minimum=0)
    statuses = _status_arg(args)
    parse_bool("dates_are_gmt", args.get("dates_are_gmt", "false"))   # site timezone is UTC
    bounds = {name: _date_arg(args, name) for name in ("after", "before", "modified_after", "modified_before")}
    include = _id_list(args, "include")
    exclude = set(_id_list(args, "exclude"))
    parents = _id_list(args, "parent")
    customer = int_arg(args, "customer", None, minimum=0)
    product = int_arg(args, "product", None, minimum=0)
    search = (args.get("search") or "").strip().lower()
    order_dir = args.get("order", "desc")
    if order_dir not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    orderby = args.get("orderby", "date")
    if orderby not in ORDERBY:
        raise invalid_param("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
    # `created_via` (an array of strings) is an argument from 9.x on; 7.8.2 has none, and
    # WordPress ignores an argument a route does not declare.
    created_via = set(_string_list(args, "created_via")) if state.stores_created_via else set()

    def keep(order: Order) -> bool:
        if statuses is None and order.status == "trash":
            return False
        if statuses is not None and "any" not in statuses and order.status not in statuses:
            return False
        if statuses is not None and "any" in statuses and order.status == "trash" and "trash" not in statuses:
            return False
        # WP_Date_Query before/after are exclusive.
        if not _within(order.date_created, bounds["after"], bounds["before"]):
            return False
        if not _within(order.date_modified, bounds["modified_after"], bounds["modified_before"]):
            return False
        if include and order.id not in include:
            return False
        if order.id in exclude or (parents and order.parent_id not in parents):
            return False
        if customer is not None and order.customer_id != customer:
            return False
        if product is not None and all(li.product_id != product for li in order.line_items):
            return False
        if created_via and order.created_via not in created_via:
            return False
        return not search or search in _search_text(order)

    matches = [o for o in state.orders.values() if keep(o)]
    if orderby == "include" and include:
        matches.sort(key=lambda o: include.index(o.id))
    else:
        def sort_key(o: Order):
            if orderby in ("date", "title"):
                return (o.date_created, o.id)        # 'date ID', as the CRUD controller adds
            if orderby == "modified":
                return (o.date_modified, o.id)
            return (o.id,)
        matches.sort(key=sort_key, reverse=(order_dir == "desc"))
    total = len(matches)
    pages = -(-total // per_page) if total else 0
    start = offset if offset is not None else (page - 1) * per_page
    return matches[start:start + per_page], total, pages, page


def _within(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or value > after) and (before is None or value < before)


def _search_text(order: Order) -> str:
    parts = [str(order.id), *order.billing.values(), *order.shipping.values(),
             *(li.name for li in order.line_items)]
    return " ".join(parts).lower()


def _date_arg(args, name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None:
        return None
    value = parse_rest_date(raw)
    if value is None:
        raise invalid_param(name, "Invalid date.")
    return value


def _status_arg(args) -> set[str] | None:
    """`status` is an array param: `status[]=a&status[]=b` or `status=a,b`. A repeated plain
    `status=` key behaves as in PHP: the last one wins."""
    values = args.getlist("status[]") if hasattr(args, "getlist") else []
    if not values:
        raw = args.getlist("status")[-1] if hasattr(args, "getlist") and args.getlist("status") else args.get("status")
        if raw is None:
            return None
        values = [v.strip() for v in raw.split(",") if v.strip()]
    allowed = ("any", "trash", "auto-draft", *ORDER_STATUSES, "checkout-draft")
    for index, value in enumerate(values):
        if value not in allowed:
            raise invalid_param("status", f"status[{index}] is not one of {', '.join(allowed)}.")
    return set(values) if values != ["any"] else None


def _string_list(args, name: str) -> list[str]:
    """An array-of-strings param: `name[]=a&name[]=b` or `name=a,b`."""
    values = args.getlist(f"{name}[]") if hasattr(args, "getlist") else []
    if not values and args.get(name):
        values = args.get(name).split(",")
    return [v.strip() for v in values if v.strip()]


def _id_list(args, name: str) -> list[int]:
    values = args.getlist(f"{name}[]") if hasattr(args, "getlist") else []
    if not values and args.get(name):
        values = [v for v in args.get(name).split(",") if v.strip()]
    try:
        return [int(v) for v in values]
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None
