"""The ports the sync use cases talk to, and the neutral data that crosses them.

Adapters (adapters/bol, adapters/woocommerce, ...) implement these Protocols; nothing here knows
about HTTP, JSON shapes or a particular platform. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


# ---------------------------------------------------------------- marketplace side
@dataclass(frozen=True)
class Address:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street: str = ""            # street name without number
    house_number: str = ""
    house_number_ext: str = ""
    extra: str = ""             # extra address information
    zip_code: str = ""
    city: str = ""
    country_code: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrderLine:
    external_line_id: str       # bol: orderItemId
    ean: str
    title: str
    quantity: int
    unit_price: Decimal
    sku: str = ""               # the seller's own reference (bol: offer.reference), may be empty


@dataclass(frozen=True)
class OrderSummary:
    """One entry of the marketplace's open-orders list (cheap; no address)."""
    external_id: str
    placed_at: datetime | None
    line_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarketplaceOrder:
    external_id: str
    placed_at: datetime | None
    lines: tuple[OrderLine, ...]
    shipping: Address
    billing: Address | None = None
    fulfilment_method: str = "FBR"


@dataclass(frozen=True)
class ShipmentRequest:
    external_order_id: str
    line_ids: tuple[str, ...]            # marketplace line ids to ship (full open quantity)
    reference: str                       # our own shipment reference (idempotency / lookup)
    transporter_code: str | None = None  # None together with track_and_trace None = no transport
    track_and_trace: str | None = None


@dataclass(frozen=True)
class ProcessResult:
    """The marketplace's answer to an asynchronous write (bol: process status)."""
    process_id: str
    status: str                          # PENDING | SUCCESS | FAILURE | TIMEOUT
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "PENDING"


class MarketplacePort(Protocol):
    name: str

    def list_open_orders(self) -> Iterator[OrderSummary]:
        """Every open, retailer-fulfilled order (all pages)."""

    def get_order(self, external_id: str) -> MarketplaceOrder: ...

    def ship(self, request: ShipmentRequest) -> ProcessResult:
        """Send a shipment. Raises Transient when the outcome is unknown."""

    def process_status(self, process_id: str) -> ProcessResult: ...

    def find_shipment_process(self, request: ShipmentRequest) -> ProcessResult | None:
        """After an unknown outcome: the process an earlier `ship` of these lines started, if any
        (excluding failed ones), so a retry never ships twice."""

    def check(self) -> None:
        """Cheap authenticated call; raises AuthError on bad credentials."""


# ---------------------------------------------------------------- shop side
@dataclass(frozen=True)
class Tracking:
    provider: str               # as written in the shop (e.g. "PostNL", "DHL")
    number: str


@dataclass(frozen=True)
class ShopOrderDraft:
    ref: str                    # our marker, written to order meta `_orderbridge_ref`
    marketplace: str            # "bol"
    external_id: str            # marketplace order id, also written to meta
    status: str                 # e.g. "processing"
    lines: tuple[OrderLine, ...]
    shipping: Address
    billing: Address | None = None
    note: str = ""


@dataclass(frozen=True)
class ShopOrder:
    id: int
    number: str
    status: str
    ref: str | None             # our marker if the order was created by us
    date_created: datetime | None
    date_modified: datetime | None
    tracking: tuple[Tracking, ...] = field(default_factory=tuple)


class ShopPort(Protocol):
    def create_order(self, draft: ShopOrderDraft) -> ShopOrder:
        """Raises Transient when the outcome is unknown (then use find_order_by_ref)."""

    def find_order_by_ref(self, ref: str, created_after: datetime) -> ShopOrder | None: ...

    def get_order(self, order_id: int) -> ShopOrder: ...

    def orders_modified_after(self, since: datetime) -> Iterator[ShopOrder]: ...

    def ensure_webhooks(self, delivery_url: str, secret: str, topics: tuple[str, ...]) -> list[int]:
        """Create missing webhooks, re-activate disabled ones; returns their ids."""

    def webhooks_for(self, delivery_url: str) -> list[dict]:
        """{id, topic, status} of every webhook delivering to `delivery_url`."""

    def remove_webhooks(self, delivery_url: str) -> int:
        """Delete every webhook delivering to `delivery_url`; returns how many were deleted."""


# ---------------------------------------------------------------- the job queue
class Enqueuer(Protocol):
    """How use cases ask for follow-up work; jobs.py implements it with Huey. Every call is
    a hint: the dispatcher's sweeps find the same work in the database if a job is lost."""

    def poll_connection(self, connection_id: int) -> None: ...

    def poll_shop(self, shop_id: int) -> None: ...

    def import_order(self, connection_id: int, external_id: str) -> None: ...

    def create_in_shop(self, order_id: int, delay: float = 0) -> None: ...

    def push_shipment(self, shipment_id: int, delay: float = 0) -> None: ...

    def follow_shipment(self, shipment_id: int, delay: float = 0) -> None: ...

    def process_delivery(self, delivery_id: int, delay: float = 0) -> None: ...

    def grace_sweep(self) -> None: ...
