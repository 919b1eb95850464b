"""The records the sandbox keeps, shaped after WooCommerce's own data objects (WC_Order,
WC_Product, WC_Webhook, API keys). Datetimes are naive UTC with whole seconds, as WordPress
stores them; JSON rendering lives next to each resource's routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
# wc_get_order_status_name(): what status-change notes say.
ORDER_STATUS_NAMES = {"pending": "Pending payment", "processing": "Processing", "on-hold": "On hold",
                      "completed": "Completed", "cancelled": "Cancelled", "refunded": "Refunded",
                      "failed": "Failed", "trash": "Trash"}
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
    stock_reduced: bool = False               # _order_stock_reduced (wc_maybe_*_stock_levels)
    trashed_from: str | None = None           # status before trashing (_wp_trash_meta_status)
    refunds: list[Refund] = field(default_factory=list)      # shop_order_refund children, oldest first
    notes: list[OrderNote] = field(default_factory=list)     # order notes (comments), oldest first

    @property
    def total_refunded(self) -> Decimal:
        """WC_Order::get_total_refunded()."""
        return sum((r.amount for r in self.refunds), Decimal(0))


@dataclass
class OrderNote:
    """An order note (a WP comment of type order_note). System notes are written by
    "WooCommerce"; added_by_user notes carry the API key user's display name."""
    id: int
    content: str
    date_created: datetime
    customer_note: bool = False
    author: str = "WooCommerce"


@dataclass
class RefundItem:
    """A line of a refund: a copy of the refunded order item with negative quantity and totals,
    and meta `_refunded_item_id` pointing at the order item (wc_create_refund)."""
    id: int
    kind: str                                  # line_item | shipping
    name: str
    refunded_item_id: int
    quantity: int                              # <= 0
    total: Decimal                             # <= 0
    product_id: int = 0
    variation_id: int = 0
    method_id: str = ""
    meta: list[Meta] = field(default_factory=list)


@dataclass
class Refund:
    """WC_Order_Refund: its own post (id from the posts sequence), child of the order."""
    id: int
    order_id: int
    amount: Decimal
    reason: str
    date_created: datetime
    refunded_by: int = 1
    refunded_payment: bool = False
    line_items: list[RefundItem] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)


@dataclass
class Product:
    """A product post or a product_variation post (type "variation", parent_id set). A
    variation whose own manage_stock is off while its parent's is on has its stock managed by
    the parent (WC_Product_Variation::get_manage_stock() answers "parent")."""
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
    type: str = "simple"                       # simple | variable | grouped | external | variation
    parent_id: int = 0
    global_unique_id: str = ""                 # GTIN, UPC, EAN or ISBN (WooCommerce 9.2+)
    attributes: list[dict] = field(default_factory=list)   # variations: [{"name", "option"}]
    menu_order: int = 0


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
    # WooCommerce pings a new webhook's URL after its first delivery (the captured shops did, both
    # versions), not when it is created: True until then.
    pending_delivery: bool = True
    api_version: str = "wp_api_v3"

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]
