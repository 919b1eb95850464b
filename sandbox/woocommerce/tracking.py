"""The WooCommerce Shipment Tracking extension, as far as order data goes.

It keeps every tracking entry of an order in one meta row, `_wc_shipment_tracking_items`, whose
value is a list of dicts. A known carrier is stored by its slug in `tracking_provider`; anything
else goes into `custom_tracking_provider` with `tracking_provider` empty. `date_shipped` is a unix
timestamp (a string, as wc_clean() leaves it) and `tracking_id` an md5 hex.

Advanced Shipment Tracking Pro's "tracking per item" (partial shipments) adds `products_list` to
an entry that ships some lines only: [{product, item_id, qty}], item_id the order's line item id,
product its product (or variation) id, qty the quantity shipped as a string.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from .models import Order, meta_get, meta_update
from .state import WooState

META_KEY = "_wc_shipment_tracking_items"

# A slice of the extension's provider list (slug -> (title, URL with %1$s for the number)).
PROVIDERS: dict[str, tuple[str, str]] = {
    "postnl": ("PostNL", "https://postnl.nl/tracktrace/?B=%1$s"),
    "dhl-parcel": ("DHL Parcel", "https://www.dhlparcel.nl/nl/consument/volg-je-pakket?tc=%1$s"),
    "dhl": ("DHL", "https://www.dhl.com/en/express/tracking.html?AWB=%1$s"),
    "dpd": ("DPD", "https://tracking.dpd.de/parcelstatus?query=%1$s"),
    "ups": ("UPS", "https://www.ups.com/track?tracknum=%1$s"),
    "gls": ("GLS", "https://gls-group.eu/track/%1$s"),
    "bpost": ("bpost", "https://track.bpost.cloud/btr/web/#/search?itemCode=%1$s"),
    "fedex": ("FedEx", "https://www.fedex.com/fedextrack/?tracknumbers=%1$s"),
    "usps": ("USPS", "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s"),
    "royal-mail": ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/%1$s"),
}


def sanitize_title(text: str) -> str:
    """WordPress sanitize_title(), enough for carrier names: lower case, dashes for spaces."""
    slug = re.sub(r"[^a-z0-9\s_-]", "", text.strip().lower())
    return re.sub(r"[\s_-]+", "-", slug).strip("-")


def tracking_items(order: Order) -> list[dict]:
    items = meta_get(order.meta, META_KEY)
    if isinstance(items, dict):     # a PHP array with holes is a JSON object
        items = list(items.values())
    return list(items) if isinstance(items, list) else []


def add_tracking_item(state: WooState, order: Order, provider: str, number: str,
                      date_shipped: str | int | None = None, custom_link: str = "",
                      products_list: list[dict] | None = None) -> dict:
    """WC_Shipment_Tracking_Actions::add_tracking_item(); the caller saves the order.
    `products_list` (AST Pro, already checked by products_list_for) makes it an entry of some lines."""
    slug = sanitize_title(provider or "")
    known = slug in PROVIDERS
    shipped = _timestamp(date_shipped) if date_shipped not in (None, "") else int(state.clock().timestamp())
    item = {
        "tracking_provider": slug if known else "",
        "custom_tracking_provider": "" if known else (provider or ""),
        "custom_tracking_link": custom_link or "",
        "tracking_number": number,
        "date_shipped": str(shipped),
        "tracking_id": hashlib.md5(
            f"{slug if known else ''}-{number}{state.rng.random():.8f} {state.clock().timestamp()}".encode()
        ).hexdigest(),
    }
    if products_list:
        item["products_list"] = products_list
    items = tracking_items(order) + [item]
    meta_update(order.meta, META_KEY, items, None, state.next_meta_id)
    return item


def products_list_for(order: Order, lines: object) -> tuple[list[dict] | None, str]:
    """[{item_id, qty}] as a merchant picks them -> AST's products_list ([{product, item_id, qty}]),
    or (None, why) for an entry naming no line item of the order or a quantity beyond the line's."""
    if not isinstance(lines, list) or not lines:
        return None, "products_list must be a non-empty list of {item_id, qty}"
    out = []
    for entry in lines:
        item_id = entry.get("item_id") if isinstance(entry, dict) else None
        line = next((li for li in order.line_items if li.id == item_id), None)
        if line is None:
            return None, f"no line item {item_id} in order {order.id}"
        qty = entry.get("qty", line.quantity)
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= line.quantity:
            return None, f"qty of line item {item_id} must be 1..{line.quantity}"
        out.append({"product": line.variation_id or line.product_id, "item_id": line.id, "qty": str(qty)})
    return out, ""


def item_to_json(item: dict) -> dict:
    """The extension's REST representation of one entry."""
    slug = item.get("tracking_provider") or ""
    title, link = PROVIDERS.get(slug, (item.get("custom_tracking_provider") or "", ""))
    number = item.get("tracking_number") or ""
    try:
        shipped = datetime.fromtimestamp(int(item.get("date_shipped") or 0), UTC).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        shipped = ""
    return {
        "tracking_id": item.get("tracking_id", ""),
        "tracking_provider": title,
        "tracking_link": link.replace("%1$s", number) if link else (item.get("custom_tracking_link") or ""),
        "tracking_number": number,
        "date_shipped": shipped,
    }


def _timestamp(value: str | int) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
