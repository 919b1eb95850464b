"""The records the sandbox keeps, shaped after WooCommerce's own data objects (WC_Order,
WC_Product, WC_Webhook, API keys). Datetimes are naive UTC with whole seconds, as WordPress
stores them; JSON rendering lives next to each resource's routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
PAID_STATUSES = ("processing", "completed")
# wc_maybe_reduce_stock_levels is hooked to these transitions; cancelling gives the stock back.
STOCK_REDUCING_STATUSES = ("processing", "completed", "on-hold")


@dataclass
class ApiKey:
    key_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"           # read | write | read_write
    nonces: dict[int, str] = field(default_factory=dict)   # OAuth 1.0a replay protection
    # What wp-admin's key list shows (woocommerce_api_keys columns); wc-auth fills them in.
    description: str = ""
    user_id: int = 0                          # the WordPress user the key acts as
    created: datetime | None = None

    @property
    def truncated_key(self) -> str:
        """The only part of the consumer key WooCommerce keeps readable (it stores a hash)."""
        return self.consumer_key[-7:]

    def can(self, method: str) -> bool:
        if method in ("GET", "HEAD"):
            return self.permissions in ("read", "read_write")
        if method == "OPTIONS":
            return True
        return self.permissions in ("write", "read_write")


@dataclass
class Meta:
    id: int
    key: str
    value: Any

    def to_json(self) -> dict:
        return {"id": self.id, "key": self.key, "value": self.value}


def meta_get(meta: list[Meta], key: str) -> Any:
    for entry in meta:
        if entry.key == key:
            return entry.value
    return None


def meta_update(meta: list[Meta], key: str, value: Any, meta_id: int | None, new_id) -> None:
    """WC_Data::update_meta_data(): an id updates that entry; without one, the first entry with
    the key takes the value and later duplicates are dropped; no match adds an entry."""
    if meta_id:
        for entry in meta:
            if entry.id == meta_id:
                entry.key, entry.value = key, value
                return
        meta.append(Meta(new_id(), key, value))
        return
    matches = [entry for entry in meta if entry.key == key]
    if not matches:
        meta.append(Meta(new_id(), key, value))
        return
    matches[0].value = value
    for duplicate in matches[1:]:
        meta.remove(duplicate)


@dataclass
class LineItem:
    id: int
    name: str
    quantity: int
    total: Decimal
    subtotal: Decimal
    product_id: int = 0
    variation_id: int = 0
    meta: list[Meta] = field(default_factory=list)


@dataclass
class ShippingLine:
    id: int
    method_id: str
    method_title: str
    total: Decimal


@dataclass
class Order:
    id: int
    order_key: str
    date_created: datetime
    date_modified: datetime
    status: str = "pending"
    currency: str = "EUR"
    parent_id: int = 0
    customer_id: int = 0
    created_via: str = "rest-api"
    customer_note: str = ""
    billing: dict = field(default_factory=dict)
    shipping: dict = field(default_factory=dict)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)
    total: Decimal = Decimal(0)               # calculate_totals() result
    stock_reduced: bool = False
    trashed_from: str | None = None           # status before trashing (_wp_trash_meta_status)


@dataclass
class Product:
    id: int
    name: str
    date_created: datetime
    date_modified: datetime
    sku: str = ""
    regular_price: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    status: str = "publish"
    meta: list[Meta] = field(default_factory=list)


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    date_created: datetime
    date_modified: datetime
    status: str = "active"                     # active | paused | disabled
    failure_count: int = 0                     # kept, never exposed by the REST API
    api_version: str = "wp_api_v3"

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]
