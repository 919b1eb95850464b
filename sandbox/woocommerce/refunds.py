"""Order refunds: WC_REST_Order_Refunds_Controller (v3) over wc_create_refund().

What a POST /orders/<id>/refunds does in WooCommerce, and here, in this order:
1. RestApiUtil::adjust_create_refund_request_parameters(): an empty `reason` becomes null;
   `api_refund` and `api_restock` are booleans that default to TRUE when missing (so a caller
   that wants no money to move must send api_refund false); `line_items` is a list of
   {id, quantity, refund_total, refund_tax: [{id, refund_total}]} turned into the internal
   map item id -> {qty, refund_total, refund_tax}; a missing `amount` is the sum of the lines'
   refund_total and refund_tax when they are all numeric. There is no `restock_items` parameter
   in the REST API (that is wc_create_refund()'s internal name for api_restock): it is ignored.
   `line_items` is read-only in the schema, so WordPress does not validate it; `amount` and
   `reason` must be strings (400 rest_invalid_param otherwise).
2. The controller: unknown order 404 woocommerce_rest_invalid_order_id; a negative amount 400
   woocommerce_rest_invalid_order_refund "Refund amount must be greater than zero.".
3. wc_create_refund(): amount above the order's remaining refundable amount (total minus what
   is refunded) -> "Invalid refund amount."; per order item (line items, fees, shipping) named in
   line_items with a qty, refund_total or refund_tax: a copy of the item with negative quantity
   and total and meta `_refunded_item_id`; ids that are not items of the order are skipped
   silently. The refund is saved (a post: its id comes from the posts sequence).
   api_refund true -> wc_refund_payment() through the order's gateway; the sandbox shop has no
   gateway that refunds, so that fails ("The payment gateway for this order does not exist." /
   "... does not support automatic refunds.") and the refund is deleted again.
   api_restock true -> wc_restock_refunded_items() (stock.py): the refunded quantities go back
   to stock, for lines whose stock was reduced.
   Fully refunded -- remaining amount minus this amount is not above 0 and no free line keeps
   unrefunded items (woocommerce_order_is_partially_refunded) -- sets the order `refunded`
   (update_status: its own save and status note); else it is a partial refund and the status
   stays. The order is saved: woocommerce_update_order and woocommerce_order_refunded both mean
   order.updated, delivered once.
   Any failure inside wc_create_refund() is answered 500 woocommerce_rest_cannot_create_order_refund
   with the message, and nothing is kept.
4. 201 with the refund; its Location header is built from the route's regex, as WooCommerce's
   CRUD controller does it (".../orders/(?P<order_id>[\\d]+)/refunds/<id>").

So a zero-amount refund of some lines with api_restock true and api_refund false records which
lines were taken out and gives their stock back atomically, without moving money: this is what a
partial cancellation is in WooCommerce. The lines stay on the order (with their refunded
quantity), unlike PUT line_items quantity 0, which drops a line without giving its stock back.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .models import Meta, Order, Refund, RefundItem, meta_update
from .orders import money, save, set_status
from .state import WooState
from .stock import restock_refunded_items
from .wpjson import ApiError, int_arg, invalid_param, parse_bool, wc_date

# Core gateways (none refunds automatically); any other payment_method has no gateway at all.
CORE_GATEWAYS = ("bacs", "cheque", "cod")


def _fail(message: str) -> ApiError:
    return ApiError(500, "woocommerce_rest_cannot_create_order_refund", message)


def adjust_request(body: Mapping[str, Any]) -> dict:
    """RestApiUtil::adjust_create_refund_request_parameters() after WordPress' arg checks."""
    for name in ("amount", "reason"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise invalid_param(name, f"{name} is not of type string.")
    request = {
        "reason": body.get("reason") or None,
        "api_refund": parse_bool("api_refund", body["api_refund"]) if "api_refund" in body else True,
        "api_restock": parse_bool("api_restock", body["api_restock"]) if "api_restock" in body else True,
        "line_items": _line_items(body.get("line_items")),
        "meta_data": body.get("meta_data") if isinstance(body.get("meta_data"), list) else [],
        "amount": body.get("amount"),
    }
    if request["amount"] is None:
        request["amount"] = _amount_from_lines(request["line_items"])
    return request


def _line_items(raw: Any) -> dict[int, dict]:
    if not raw:
        return {}
    if isinstance(raw, dict):                      # already the internal format
        return {int(k): dict(v) for k, v in raw.items() if str(k).isdigit() and isinstance(v, dict)}
    if not isinstance(raw, list) or any(not isinstance(i, dict) or "id" not in i for i in raw):
        return {}
    items: dict[int, dict] = {}
    for entry in raw:
        item = dict(entry)
        if "quantity" in item and "qty" not in item:
            item["qty"] = item["quantity"]
        item.pop("quantity", None)
        taxes = item.get("refund_tax")
        if isinstance(taxes, list) and all(isinstance(t, dict) and "id" in t and "refund_total" in t for t in taxes):
            item["refund_tax"] = {t["id"]: t["refund_total"] for t in taxes}
        try:
            items[int(item.pop("id"))] = item
        except (TypeError, ValueError):
            continue
    return items


def _numeric(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _amount_from_lines(lines: dict[int, dict]) -> str | None:
    """calculate_refund_amount_from_line_items(): only when every line has numeric totals."""
    if not lines:
        return None
    amount = Decimal(0)
    for item in lines.values():
        total = _numeric(item.get("refund_total"))
        if total is None:
            return None
        amount += total
        taxes = item.get("refund_tax") or {}
        for tax in (taxes.values() if isinstance(taxes, dict) else taxes):
            value = _numeric(tax)
            if value is None:
                return None
            amount += value
    return str(amount)


def create_refund(state: WooState, order: Order, body: Mapping[str, Any], *, user_id: int = 1) -> Refund:
    """POST /orders/<id>/refunds. The caller holds state.lock."""
    request = adjust_request(body)
    amount = _numeric(request["amount"]) if request["amount"] not in (None, "") else Decimal(0)
    if amount is not None and amount < 0:
        raise ApiError(400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.")
    remaining_amount = order.total - order.total_refunded
    if amount is None or amount > remaining_amount:
        raise _fail("Invalid refund amount.")
    remaining_items = sum(li.quantity for li in order.line_items) - sum(
        -ri.quantity for r in order.refunds for ri in r.line_items if ri.kind == "line_item")

    refund = Refund(id=state.next_post_id(), order_id=order.id, amount=amount, reason=request["reason"] or "",
                    date_created=state.now(), refunded_by=user_id)
    refund_item_count = 0
    lines = request["line_items"]
    for kind, items in (("line_item", order.line_items), ("shipping", order.shipping_lines)):
        for item in items:
            entry = lines.get(item.id)
            if entry is None:
                continue
            qty = _int(entry.get("qty"))
            total = _numeric(entry.get("refund_total")) or Decimal(0)
            if not qty and not total and not entry.get("refund_tax"):
                continue
            refund.line_items.append(RefundItem(
                id=state.next_item_id(), kind=kind,
                name=item.name if kind == "line_item" else item.method_title,
                refunded_item_id=item.id, quantity=-qty, total=-total,
                product_id=getattr(item, "product_id", 0), variation_id=getattr(item, "variation_id", 0),
                method_id=getattr(item, "method_id", ""),
                meta=[Meta(state.next_meta_id(), "_refunded_item_id", str(item.id))]))
            refund_item_count += qty

    if request["api_refund"]:
        # wc_refund_payment(): the refund was saved, the gateway fails, the refund is deleted.
        if order.payment_method in CORE_GATEWAYS:
            raise _fail("The payment gateway for this order does not support automatic refunds.")
        raise _fail("The payment gateway for this order does not exist.")

    for raw in request["meta_data"]:
        if isinstance(raw, dict) and "key" in raw:
            meta_update(refund.meta, raw["key"], raw.get("value"), None, state.next_meta_id)
    order.refunds.append(refund)
    if request["api_restock"]:
        restock_refunded_items(state, order, lines)

    has_free_item = any(li.total == 0 for li in order.line_items)
    partially = (remaining_amount - amount) > 0 or (
        bool(lines) and has_free_item and (remaining_items - refund_item_count) > 0)
    if not partially:
        set_status(state, order, "refunded")     # woocommerce_order_fully_refunded_status
    save(state, order)                           # set_date_modified( time() ); save()
    return refund


def _int(value: Any) -> int:
    number = _numeric(value)
    return int(number) if number is not None else 0


def find_refund(order: Order, refund_id: int) -> Refund | None:
    return next((r for r in order.refunds if r.id == refund_id), None)


def query_refunds(order: Order | None, args) -> tuple[list[Refund], int, int, int]:
    page = int_arg(args, "page", 1, minimum=1)
    per_page = int_arg(args, "per_page", 10, minimum=1, maximum=100)
    offset = int_arg(args, "offset", None, minimum=0)
    order_dir = args.get("order", "desc")
    if order_dir not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    orderby = args.get("orderby", "date")
    if orderby not in ("date", "id", "include", "title", "slug", "modified"):
        raise invalid_param("orderby", "orderby is not one of date, id, include, title, slug, and modified.")
    refunds = list(order.refunds) if order is not None else []
    if orderby in ("date", "modified"):
        refunds.sort(key=lambda r: (r.date_created, r.id), reverse=order_dir == "desc")
    else:
        refunds.sort(key=lambda r: r.id, reverse=order_dir == "desc")
    total = len(refunds)
    pages = -(-total // per_page) if total else 0
    start = offset if offset is not None else (page - 1) * per_page
    return refunds[start:start + per_page], total, pages, page


def _signed(value: Decimal) -> str:
    text = money(value)
    return "0.00" if text == "-0.00" else text      # PHP 8's number_format() never gives "-0"


def _item_json(state: WooState, item: RefundItem) -> dict:
    meta = [{**m.to_json(), "display_key": m.key, "display_value": m.value} for m in item.meta]
    if item.kind == "shipping":
        return {"id": item.id, "method_title": item.name, "method_id": item.method_id, "instance_id": "",
                "total": _signed(item.total), "total_tax": "0.00", "taxes": [], "meta_data": meta}
    product = state.products.get(item.variation_id or item.product_id)
    return {
        "id": item.id,
        "name": item.name,
        "product_id": item.product_id,
        "variation_id": item.variation_id,
        "quantity": item.quantity,
        "tax_class": "",
        "subtotal": _signed(item.total),
        "subtotal_tax": "0.00",
        "total": _signed(item.total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": meta,
        "sku": product.sku if product else None,
        "price": float(item.total / item.quantity) if item.quantity else 0,
        "image": {"id": "", "src": ""},
        "parent_name": None,
    }


def refund_to_json(state: WooState, refund: Refund) -> dict:
    site = state.site_url
    base = f"{site}/wp-json/wc/v3/orders/{refund.order_id}/refunds"
    data = {
        "id": refund.id,
        "date_created": wc_date(refund.date_created),
        "date_created_gmt": wc_date(refund.date_created),
        "amount": money(refund.amount),
        "reason": refund.reason,
        "refunded_by": refund.refunded_by,
        "refunded_payment": refund.refunded_payment,
        "meta_data": [m.to_json() for m in refund.meta],
        "line_items": [_item_json(state, i) for i in refund.line_items if i.kind == "line_item"],
        "shipping_lines": [_item_json(state, i) for i in refund.line_items if i.kind == "shipping"],
        "tax_lines": [],
        "fee_lines": [],
        "_links": {
            "self": [state.self_link(f"{base}/{refund.id}")],
            "collection": [{"href": base}],
            "up": [{"href": f"{site}/wp-json/wc/v3/orders/{refund.order_id}"}],
        },
    }
    if not state.refund_item_lists:
        # 7.8.2's refunds show line_items only (shipping refunds appear nowhere in the answer).
        del data["shipping_lines"], data["tax_lines"], data["fee_lines"]
    return data
