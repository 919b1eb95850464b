"""Pure translation between the neutral port data and WooCommerce REST v3 order JSON.

Facts about WooCommerce this relies on:
- A new line item must name a product by `sku`, `product_id` or `variation_id`, or the whole
  order is refused (400 woocommerce_rest_required_product_reference). An sku that matches no
  product is fine: the line is stored without a product, with the name and total we send. So
  every line carries an sku: the seller's own reference, else the EAN, else our line id.
- Money fields are JSON strings ("12.50"); WordPress refuses numbers there.
- `created_via` is read-only: WooCommerce records "rest-api" whatever we send. We send
  "orderbridge" anyway; our own marker is the `_orderbridge_ref` meta.
- Order dates come without an offset; the `*_gmt` variants are UTC and are the ones read here.
- The Shipment Tracking extension keeps a list of entries in meta `_wc_shipment_tracking_items`
  (a JSON object instead of a list when PHP left holes in the array). A known carrier is a slug
  in `tracking_provider` (e.g. "postnl", "dhl-parcel"); other carriers are in
  `custom_tracking_provider`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from plugin.sync.ports import Address, OrderLine, ShopOrder, ShopOrderDraft, Tracking

REF_KEY = "_orderbridge_ref"
MARKETPLACE_KEY = "_orderbridge_marketplace"
EXTERNAL_ID_KEY = "_orderbridge_external_id"
LINE_ID_KEY = "_orderbridge_line_id"
TRACKING_ITEMS_KEY = "_wc_shipment_tracking_items"
CREATED_VIA = "orderbridge"


class UnexpectedPayload(ValueError):
    """WooCommerce answered 2xx with something that is not an order."""


# ---------------------------------------------------------------------------- draft -> WooCommerce
def draft_to_wc(draft: ShopOrderDraft) -> dict:
    billing_address = draft.billing or draft.shipping
    return {
        "status": draft.status,
        "set_paid": True,                       # paid at the marketplace
        "created_via": CREATED_VIA,
        "payment_method": "orderbridge",
        "payment_method_title": draft.marketplace,
        "customer_note": draft.note,
        "billing": address_to_wc(billing_address, with_email=True),
        "shipping": address_to_wc(draft.shipping, with_email=False),
        "line_items": [line_to_wc(line) for line in draft.lines],
        "meta_data": [
            {"key": REF_KEY, "value": draft.ref},
            {"key": MARKETPLACE_KEY, "value": draft.marketplace},
            {"key": EXTERNAL_ID_KEY, "value": draft.external_id},
        ],
    }


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


def line_to_wc(line: OrderLine) -> dict:
    total = format_money(line.unit_price * line.quantity)
    return {
        "sku": line.sku or line.ean or line.external_line_id,
        "name": line.title,
        "quantity": line.quantity,
        "subtotal": total,
        "total": total,
        "meta_data": [{"key": LINE_ID_KEY, "value": line.external_line_id}],
    }


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
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), int) or isinstance(data.get("id"), bool):
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
    One entry per tracking number (the first seen wins, so a carrier-bearing entry is kept)."""
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
            found.append(Tracking(provider=str(provider).strip(), number=number))
    for key in tracking_meta_keys:
        value = meta_value(data, key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            found.append(Tracking(provider="", number=str(value).strip()))
    unique: dict[str, Tracking] = {}
    for tracking in found:
        unique.setdefault(tracking.number, tracking)
    return tuple(unique.values())
