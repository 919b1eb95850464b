"""Pure translation between the neutral port data and WooCommerce REST v3 order JSON.

Facts about WooCommerce this relies on:
- A new line item must name a product by `sku`, `product_id` or `variation_id`, or the whole
  order is refused (400 woocommerce_rest_required_product_reference). The sku wins over the ids
  (WC_REST_Orders_V2_Controller::get_product_id: sku, else product_id, else variation_id), and
  an sku or id that matches no product is fine: the line is stored with product_id 0 and the
  name and total we send (prepare_line_items sets the product only `if ( $product && ...)`), and
  WooCommerce takes no stock off for it. So a line whose product was found (the shop's own
  matching rule: EAN/GTIN, an EAN meta key or SKU) is sent with its product_id (a variation:
  variation_id, WC_Order_Item_Product::set_product() then stores the parent as product_id) and
  no sku; any other line carries an sku: the seller's own reference, else the EAN, else our
  line id.
- Line item meta is shown to the merchant: the order screen (admin/meta-boxes/views/
  html-order-item-meta.php) lists $item->get_all_formatted_meta_data( '' ), which leaves out
  only the keys in the `woocommerce_hidden_order_itemmeta` filter (_qty, _product_id,
  _reduced_stock, ...); a leading underscore does not hide a line item meta there. Order meta
  with a leading underscore is protected (is_protected_meta), so WordPress's Custom Fields box
  leaves it out. So our marketplace line ids are order meta `_orderbridge_lines` (a JSON list of
  {line, product, sku, quantity} in the order the lines were sent), matched back to the line
  items by position and product; orders created before that carry them as line meta
  `_orderbridge_line_id`, which is still read.
- The order screen says "Payment via %s" with the gateway's title when payment_method is a
  registered gateway, else the raw payment_method (admin/meta-boxes/class-wc-meta-box-order-
  data.php): both fields are the marketplace's name ("bol.com").
- Money fields are JSON strings ("12.50"); WordPress refuses numbers there.
- `created_via`: before 9.9 it is read-only and WooCommerce records "rest-api" whatever we send;
  from 9.9 it stores what we send ("orderbridge") and GET /orders filters on it
  (find_order_by_ref uses that). Our own marker stays the `_orderbridge_ref` meta.
- Order dates come without an offset; the `*_gmt` variants are UTC and are the ones read here.
- The Shipment Tracking extension keeps a list of entries in meta `_wc_shipment_tracking_items`
  (a JSON object instead of a list when PHP left holes in the array). A known carrier is a slug
  in `tracking_provider` (e.g. "postnl", "dhl-parcel"); other carriers are in
  `custom_tracking_provider`.
- Advanced Shipment Tracking (AST Pro, "tracking per item") keeps the same meta and adds, to an
  entry that ships some lines only, `products_list`: a list of {product, item_id, qty} where
  item_id is the order's line item id (older entries carry only `product`, the product or
  variation id) and qty the quantity shipped (a string or a number). PHP may store each
  element as an object or an array; JSON shows both the same way.
- Line items keep their own meta in the REST answer (WooCommerce's `_reduced_stock` /
  `_restock_refunded_items`; `_orderbridge_line_id` on orders we created before
  `_orderbridge_lines`). A variation line has product_id = the parent
  and variation_id = the variation, whose stock it moved.
- Refunds (WC_REST_Order_Refunds_Controller, wc_create_refund): POST amount (a string),
  reason, line_items [{id, quantity, refund_total, refund_tax}], api_refund and api_restock --
  both default to TRUE when left out, so we always send both. A refund's own line items have
  negative quantity and totals and point at the order's line with meta `_refunded_item_id`.
  The order's lines are not changed by a refund: what is refunded is read from the refunds.
- Products and variations (WC_REST_Products_Controller / _Product_Variations_Controller):
  `global_unique_id` is the GTIN/EAN field (WooCommerce 9.2+); `manage_stock` is true, false,
  or "parent" for a variation whose stock its parent manages (stock_quantity then shows the
  parent's); a product.updated webhook carries GET /products/<id>, also for a variation
  (type "variation", parent_id set).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.sync.ports import (
    Address,
    MarketplaceLine,
    RefundLine,
    ShopOrder,
    ShopOrderDraft,
    ShopOrderLine,
    ShopProduct,
    ShopRefund,
    TrackedLine,
    Tracking,
    marketplace_title,
)

REF_KEY = "_orderbridge_ref"
REFUNDED_ITEM_KEY = "_refunded_item_id"
MARKETPLACE_KEY = "_orderbridge_marketplace"
EXTERNAL_ID_KEY = "_orderbridge_external_id"
LINE_ID_KEY = "_orderbridge_line_id"      # line meta: read only (orders created before LINES_KEY)
LINES_KEY = "_orderbridge_lines"          # order meta: our marketplace lines, in the order sent
TRACKING_ITEMS_KEY = "_wc_shipment_tracking_items"
CREATED_VIA = "orderbridge"


class UnexpectedPayload(ValueError):
    """WooCommerce answered 2xx with something that is not what was asked for (an order, a
    product, a refund)."""


# ---------------------------------------------------------------------------- draft -> WooCommerce
def draft_to_wc(draft: ShopOrderDraft) -> dict:
    billing_address = draft.billing or draft.shipping
    title = draft.marketplace_title or marketplace_title(draft.marketplace)
    line_items = [line_to_wc(line, draft.product_of(i)) for i, line in enumerate(draft.lines)]
    return {
        "status": draft.status,
        "set_paid": True,                       # paid at the marketplace
        "created_via": CREATED_VIA,
        "payment_method": title,                # no such gateway: the screen shows this value
        "payment_method_title": title,
        "customer_note": draft.note,
        "billing": address_to_wc(billing_address, with_email=True),
        "shipping": address_to_wc(draft.shipping, with_email=False),
        "line_items": line_items,
        "meta_data": [
            {"key": REF_KEY, "value": draft.ref},
            {"key": MARKETPLACE_KEY, "value": draft.marketplace},
            {"key": EXTERNAL_ID_KEY, "value": draft.external_id},
            {"key": LINES_KEY, "value": lines_meta(draft.lines, line_items)},
        ],
    }


def lines_meta(lines: Iterable[MarketplaceLine], line_items: Iterable[Mapping]) -> str:
    """`_orderbridge_lines`: one entry per line sent, in that order. A JSON string (WooCommerce
    slashes string meta before storing it, so it comes back as sent)."""
    return json.dumps([{"line": line.external_line_id,
                        "product": item.get("variation_id") or item.get("product_id") or None,
                        "sku": item.get("sku") or None, "quantity": line.quantity}
                       for line, item in zip(lines, line_items, strict=True)], separators=(",", ":"))


def address_line(address: Address) -> str:
    """address_1: street, house number and extension, e.g. "Kerkstraat 12 A"."""
    parts = (address.street, address.house_number, address.house_number_ext)
    return " ".join(part.strip() for part in parts if part and part.strip())


def address_to_wc(address: Address, *, with_email: bool) -> dict:
    data = {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address_1": address_line(address),
        "address_2": address.extra,
        "city": address.city,
        "state": "",
        "postcode": address.zip_code,
        "country": address.country_code.upper(),
        "phone": address.phone,
    }
    if with_email:                       # WooCommerce's shipping address has no email field
        data["email"] = address.email
    return data


def line_to_wc(line: MarketplaceLine, product: ShopProduct | None = None) -> dict:
    """A new line item: its product by id when it was found, else by sku (no sku with an id:
    WooCommerce would look the sku up instead). No meta of ours: the merchant would see it."""
    total = format_money(line.unit_price * line.quantity)
    item: dict[str, Any] = {}
    if product is not None and product.parent_id:
        item.update(product_id=product.parent_id, variation_id=product.id)
    elif product is not None:
        item["product_id"] = product.id
    else:
        item["sku"] = line.sku or line.ean or line.external_line_id
    item.update(name=line.title, quantity=line.quantity, subtotal=total, total=total)
    return item


def format_money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def format_wc_datetime(value: datetime) -> str:
    """A query-string date for WooCommerce: UTC, no offset (send with dates_are_gmt=true).
    With an offset WordPress converts the value to the site's timezone and then compares it with
    the GMT column, which is off by the site's UTC offset."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


# ---------------------------------------------------------------------------- WooCommerce -> order
def wc_to_shop_order(data: Any, tracking_meta_keys: Iterable[str] = ()) -> ShopOrder:
    if not isinstance(data, Mapping) or not _is_id(data.get("id")):
        raise UnexpectedPayload(f"not a WooCommerce order: {str(data)[:120]!r}")
    ref = meta_value(data, REF_KEY)
    return ShopOrder(
        id=data["id"],
        number=str(data.get("number") or data["id"]),
        status=str(data.get("status") or ""),
        ref=str(ref) if ref not in (None, "") else None,
        date_created=parse_wc_datetime(data.get("date_created_gmt") or data.get("date_created")),
        date_modified=parse_wc_datetime(data.get("date_modified_gmt") or data.get("date_modified")),
        tracking=tracking_from_wc(data, tracking_meta_keys),
    )


def parse_wc_datetime(value: Any) -> datetime | None:
    """'2024-05-01T10:00:00' (UTC when it is a *_gmt field) -> aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def meta_value(data: Mapping, key: str) -> Any:
    for entry in data.get("meta_data") or ():
        if isinstance(entry, Mapping) and entry.get("key") == key:
            return entry.get("value")
    return None


def tracking_from_wc(data: Mapping, tracking_meta_keys: Iterable[str] = ()) -> tuple[Tracking, ...]:
    """Shipment Tracking entries first, then each configured meta key holding a bare number.
    One entry per tracking number (the first seen wins, so a carrier-bearing entry is kept; the
    lines of entries sharing a number are merged: one parcel)."""
    found: list[Tracking] = []
    items = meta_value(data, TRACKING_ITEMS_KEY)
    if isinstance(items, Mapping):
        items = list(items.values())
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        number = str(item.get("tracking_number") or "").strip()
        if number:
            provider = item.get("tracking_provider") or item.get("custom_tracking_provider") or ""
            found.append(Tracking(provider=str(provider).strip(), number=number,
                                  line_items=tracked_lines(data, item.get("products_list"))))
    for key in tracking_meta_keys:
        value = meta_value(data, key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            found.append(Tracking(provider="", number=str(value).strip()))
    unique: dict[str, Tracking] = {}
    for tracking in found:
        first = unique.setdefault(tracking.number, tracking)
        if first is not tracking and first.line_items and tracking.line_items:
            unique[tracking.number] = Tracking(first.provider, first.number, first.line_items + tracking.line_items)
    return tuple(unique.values())


def tracked_lines(order: Mapping, products_list: Any) -> tuple[TrackedLine, ...]:
    """AST's `products_list` -> the lines it ships, each resolved to our marketplace line id
    through our_line_ids (by item_id, else by product id).
    An absent or empty list is (): the entry is for the order as a whole."""
    if isinstance(products_list, Mapping):
        products_list = list(products_list.values())
    if not isinstance(products_list, list):
        return ()
    line_items = [li for li in order.get("line_items") or () if isinstance(li, Mapping) and _is_id(li.get("id"))]
    ours = our_line_ids(order)
    out = []
    for entry in products_list:
        if not isinstance(entry, Mapping):
            continue
        item_id = _int(entry.get("item_id")) or None
        product = _int(entry.get("product")) or None
        quantity = _int(entry.get("qty"), 0) or None
        if item_id is not None:
            line = next((li for li in line_items if li["id"] == item_id), None)
        else:   # an entry written before AST recorded item ids: the product's (first) line
            line = next((li for li in line_items if product and product in (_int(li.get("variation_id")),
                                                                             _int(li.get("product_id")))), None)
        # an entry naming no line of ours is kept, unresolved: the tracking entry stays one of
        # some lines (never mistaken for "the rest of the order"), it just ships nothing of ours
        external = ours.get(line["id"]) if line is not None else None
        out.append(TrackedLine(shop_line_id=line["id"] if line is not None else item_id, quantity=quantity,
                               external_line_id=external, product_id=product))
    return tuple(out)


# ---------------------------------------------------------------------------- order lines
def our_line_ids(order: Mapping) -> dict[int, str]:
    """Shop line item id -> our marketplace line id, for the lines we created. Each entry of the
    order meta `_orderbridge_lines` takes the first line item, by id (the order they were sent
    in), not taken yet that holds the same product (the one we sent; for a line sent by sku:
    no product, or the product of that sku). Orders created before that meta carry the id in
    each line's `_orderbridge_line_id` meta. Line items added later by the merchant, or an entry
    whose line was deleted, match nothing."""
    items = sorted((li for li in order.get("line_items") or () if isinstance(li, Mapping) and _is_id(li.get("id"))),
                   key=lambda li: li["id"])
    out: dict[int, str] = {}
    for item in items:
        external = meta_value(item, LINE_ID_KEY)
        if external not in (None, "") and isinstance(external, str | int) and not isinstance(external, bool):
            out[item["id"]] = str(external)
    free = [item for item in items if item["id"] not in out]
    for entry in _lines_entries(meta_value(order, LINES_KEY)):
        match = next((item for item in free if _holds(item, entry)), None)
        if match is not None:
            free.remove(match)
            out[match["id"]] = entry["line"]
    return out


def _lines_entries(value: Any) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    entries = []
    for entry in value:
        if isinstance(entry, Mapping) and isinstance(entry.get("line"), str | int) and str(entry["line"]).strip():
            entries.append({"line": str(entry["line"]), "product": _int(entry.get("product")) or None,
                            "sku": str(entry.get("sku") or "")})
    return entries


def _holds(item: Mapping, entry: Mapping) -> bool:
    product = _int(item.get("variation_id")) or _int(item.get("product_id"))
    if entry["product"]:
        return product == entry["product"]
    return not product or bool(entry["sku"]) and str(item.get("sku") or "") == entry["sku"]


# WordPress ids are BIGINT UNSIGNED; ours are signed BIGINT columns, so anything beyond is not an id
# we could ever have stored (and would fail the query instead of finding nothing).
MAX_ID = 2**63 - 1


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _require_object(data: Any, what: str) -> Mapping:
    if not isinstance(data, Mapping) or not _is_id(data.get("id")):
        raise UnexpectedPayload(f"not a WooCommerce {what}: {str(data)[:120]!r}")
    return data


def to_decimal(value: Any) -> Decimal:
    """A WooCommerce money string ("12.50", "-3.00") or number; garbage counts as 0."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value).strip() or "0")
    except InvalidOperation:
        return Decimal(0)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return default


def wc_to_shop_order_lines(data: Any) -> list[ShopOrderLine]:
    """The line items of an order. product_id is the product whose stock the line moved: the
    variation when there is one."""
    order = _require_object(data, "order")
    ours = our_line_ids(order)
    lines = []
    for item in order.get("line_items") or ():
        if not isinstance(item, Mapping) or not _is_id(item.get("id")):
            continue
        product = _int(item.get("variation_id")) or _int(item.get("product_id"))
        lines.append(ShopOrderLine(
            id=item["id"],
            external_line_id=ours.get(item["id"]),
            product_id=product or None,
            quantity=_int(item.get("quantity")),
            total=to_decimal(item.get("total")),
        ))
    return lines


# ---------------------------------------------------------------------------- refunds
def wc_to_shop_refund(data: Any) -> ShopRefund:
    """A refund as GET/POST /orders/<id>/refunds answers it. Each refund line points at the
    order line it refunds (meta `_refunded_item_id`); quantities and amounts come back
    positive."""
    refund = _require_object(data, "refund")
    lines = []
    for item in refund.get("line_items") or ():
        if not isinstance(item, Mapping):
            continue
        refunded_id = _int(meta_value(item, REFUNDED_ITEM_KEY), 0) or _int(item.get("id"), 0)
        if not refunded_id:
            continue
        amount = abs(to_decimal(item.get("total"))) + abs(to_decimal(item.get("total_tax")))
        lines.append(RefundLine(shop_line_id=refunded_id, quantity=abs(_int(item.get("quantity"))), amount=amount))
    return ShopRefund(
        id=refund["id"],
        amount=abs(to_decimal(refund.get("amount"))),
        reason=str(refund.get("reason") or ""),
        lines=tuple(lines),
        date_created=parse_wc_datetime(refund.get("date_created_gmt") or refund.get("date_created")),
    )


def refunded_quantities(refunds: Iterable[ShopRefund]) -> dict[int, int]:
    """Order line id -> quantity refunded so far, over every refund of the order."""
    refunded: dict[int, int] = {}
    for refund in refunds:
        for line in refund.lines:
            refunded[line.shop_line_id] = refunded.get(line.shop_line_id, 0) + line.quantity
    return refunded


def refund_to_wc(lines: Iterable[RefundLine], amount: Decimal, reason: str, *, restock: bool) -> dict:
    """POST /orders/<id>/refunds body. api_refund is always false: the refund is a record, no
    payment gateway is asked to move money. amount and refund_total are strings."""
    return {
        "amount": format_money(amount),
        "reason": reason,
        "api_refund": False,
        "api_restock": bool(restock),
        "line_items": [{"id": line.shop_line_id, "quantity": line.quantity,
                        "refund_total": format_money(line.amount), "refund_tax": []}
                       for line in lines],
    }


def removal_to_wc(quantities: Mapping[int, int], reason: str) -> dict:
    """The refund that takes lines out of an order: zero money, those quantities restocked."""
    return refund_to_wc((RefundLine(line_id, qty, Decimal(0)) for line_id, qty in quantities.items()),
                        Decimal(0), reason, restock=True)


def note_to_wc(note: str) -> dict:
    """A private order note, written by the system (not the API key's user)."""
    return {"note": note, "customer_note": False, "added_by_user": False}


# ---------------------------------------------------------------------------- products
def wc_to_shop_product(data: Any, ean_meta_key: str = "") -> ShopProduct:
    """A product or a variation (GET /products/<id>, /products/<id>/variations, /variations, or
    a product.updated webhook body). The EAN is the configured meta key's value when there is
    one, else `global_unique_id`. Stock is None when the shop does not manage it; a variation
    whose stock its parent manages reports the parent's (shared) stock."""
    product = _require_object(data, "product")
    ean = ""
    if ean_meta_key:
        value = meta_value(product, ean_meta_key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            ean = str(value).strip()
    if not ean:
        ean = str(product.get("global_unique_id") or "").strip()
    managed = product.get("manage_stock")
    quantity = product.get("stock_quantity")
    stock = None
    if managed is True or managed == "parent":
        stock = _int(quantity) if quantity is not None else None
    parent = _int(product.get("parent_id"))
    return ShopProduct(
        id=product["id"],
        parent_id=parent or None,
        sku=str(product.get("sku") or ""),
        ean=ean,
        stock=stock,
        modified_at=parse_wc_datetime(product.get("date_modified_gmt") or product.get("date_modified")),
    )


def is_variable(data: Mapping) -> bool:
    return data.get("type") == "variable"


def manages_own_stock(data: Mapping) -> bool:
    return data.get("manage_stock") is True
