"""The ports the sync use cases talk to, and the neutral data that crosses them.

Adapters (adapters/bol, adapters/woocommerce, ...) implement the marketplace and shop Protocols,
plugin/store the store's (at the end); nothing here knows about HTTP, JSON shapes, SQL or a
particular platform. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol


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
class MarketplaceLine:
    """A line of a marketplace order as the marketplace gives it (the store's row is
    models.OrderLine, the domain's state of it domain.Line)."""
    external_line_id: str       # bol: orderItemId
    ean: str
    title: str
    quantity: int
    unit_price: Decimal
    sku: str = ""               # the seller's own reference (bol: offer.reference), may be empty
    # The buyer asked to cancel this line on the marketplace (bol: orderItem.cancellationRequest).
    cancellation_requested: bool = False


@dataclass(frozen=True)
class OrderSummary:
    """One entry of the marketplace's open-orders list (cheap; no address)."""
    external_id: str
    placed_at: datetime | None
    line_ids: tuple[str, ...] = ()
    # Lines carrying a buyer's cancellation request, when the list tells (bol's does, per item);
    # None when the marketplace's list cannot say, so known open orders are read again instead.
    cancellation_requested: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MarketplaceOrder:
    external_id: str
    placed_at: datetime | None
    lines: tuple[MarketplaceLine, ...]
    shipping: Address
    billing: Address | None = None
    fulfilment_method: str = "FBR"


@dataclass(frozen=True)
class ShipmentRequest:
    external_order_id: str
    line_ids: tuple[str, ...]            # marketplace line ids to ship
    reference: str                       # our own shipment reference (idempotency / lookup)
    transporter_code: str | None = None  # None together with track_and_trace None = no transport
    track_and_trace: str | None = None
    # A part of a line's open quantity: (line id, quantity). A line not listed here ships its
    # whole open quantity (a partial shipment of whole lines lists nothing).
    quantities: tuple[tuple[str, int], ...] = ()
    # The processes of the order's other shipments: an order may have several shipments whose
    # first line is the same line (parts of one line), and find_shipment_process must not take
    # another shipment's process for this one's.
    other_processes: tuple[str, ...] = ()

    def quantity_of(self, line_id: str) -> int | None:
        """The quantity to ship of this line, None for its whole open quantity."""
        return next((q for line, q in self.quantities if line == line_id), None)


@dataclass(frozen=True)
class ProcessResult:
    """The marketplace's answer to an asynchronous write (bol: process status)."""
    process_id: str
    status: str                          # PENDING | SUCCESS | FAILURE | TIMEOUT
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "PENDING"


# ---------------------------------------------------------------- stock, cancellations, returns
@dataclass(frozen=True)
class Offer:
    """The seller's offer of one product on the marketplace (bol: an offer of an EAN)."""
    offer_id: str
    ean: str
    reference: str = ""          # the seller's own reference (often the shop SKU)
    stock: int | None = None     # what the marketplace has now, when it says
    managed_by_retailer: bool | None = None


@dataclass(frozen=True)
class OfferStock:
    """The stock to set on one marketplace offer (the store's outbox row of it is
    models.StockUpdate)."""
    offer_id: str
    amount: int                  # >= 0
    # bol: True = "this is the sellable amount, subtract only orders placed after this update";
    # we send the shop's stock minus what marketplace orders not yet in the shop reserve.
    managed_by_retailer: bool = True


@dataclass(frozen=True)
class CancelItems:
    """Our (the seller's) cancellation of order lines on the marketplace: whole lines."""
    external_order_id: str
    line_ids: tuple[str, ...]
    reason_code: str             # bol: OUT_OF_STOCK, REQUESTED_BY_CUSTOMER, ...


@dataclass(frozen=True)
class MarketplaceReturn:
    """One returned order line (bol: a return item, identified by its rmaId)."""
    return_id: str
    rma_id: str
    external_order_id: str
    line_id: str                 # the order line (bol: orderItemId)
    quantity: int                # quantity the buyer returns
    reason: str = ""
    registered_at: datetime | None = None
    handled: bool = False
    handling_result: str | None = None
    quantity_returned: int | None = None   # what the seller said came back, once handled


@dataclass(frozen=True)
class ReturnHandling:
    rma_id: str
    handling_result: str         # bol: RETURN_RECEIVED, EXCHANGE_PRODUCT, RETURN_DOES_NOT_MEET_CONDITIONS, ...
    quantity_returned: int


@dataclass(frozen=True)
class MarketplaceCapabilities:
    """What a marketplace can do, as its adapter declares it (the bol adapter: CAPABILITIES). The
    use cases ask these instead of assuming bol's shape, so the next marketplace plugs in as an
    adapter that declares its own."""
    follows_processes: bool       # a write answers with a process to follow (bol); else final at once
    ships_parts_of_lines: bool    # a shipment may carry part of a line's quantity (else whole lines)
    cancels_lines: bool           # a seller's cancellation may name some lines (else the whole order)
    cancellation_requests: bool   # buyers ask the seller to cancel, shown on the order's lines
    returns: bool                 # returns are listed, and their handling is told back


class MarketplacePort(Protocol):
    name: str
    capabilities: MarketplaceCapabilities

    def list_open_orders(self) -> Iterator[OrderSummary]:
        """Every open, retailer-fulfilled order (all pages)."""

    def get_order(self, external_id: str) -> MarketplaceOrder: ...

    def ship(self, request: ShipmentRequest) -> ProcessResult:
        """Send a shipment of these lines (of some lines only, or parts of lines: `quantities`).
        An order may have several. Raises Transient when the outcome is unknown."""

    def process_status(self, process_id: str) -> ProcessResult: ...

    def find_shipment_process(self, request: ShipmentRequest) -> ProcessResult | None:
        """After an unknown outcome: the process an earlier `ship` of this very shipment started,
        if any (excluding failed ones and the order's other shipments' `other_processes`), so a
        retry never ships twice. The caller sends at most one shipment of an order at a time
        whose outcome is unknown, so what is left can only be this one's."""

    def check(self) -> None:
        """Cheap authenticated call; raises AuthError on bad credentials."""

    # -- stock
    def find_offers(self, *, eans: tuple[str, ...] = (), reference: str | None = None) -> list[Offer]:
        """The seller's offers for these EANs (at most 50 a call on bol) or this reference."""

    def list_offers(self) -> Iterator[Offer]:
        """Every offer of the seller (all pages)."""

    def update_stock(self, update: OfferStock) -> ProcessResult:
        """Set an offer's stock. Idempotent (the same amount twice is harmless), so a retry
        after an unknown outcome may simply send it again."""

    # -- cancellations
    def cancel_items(self, request: CancelItems) -> ProcessResult:
        """Cancel whole order lines. Raises Transient when the outcome is unknown."""

    def find_cancellation_process(self, request: CancelItems) -> ProcessResult | None:
        """After an unknown outcome: the process an earlier cancel_items of these lines started
        (excluding failed ones), so a retry never cancels twice."""

    # -- returns
    def list_returns(self, *, handled: bool) -> Iterator[MarketplaceReturn]:
        """Returns of retailer-fulfilled orders, open (handled=False) or handled (all pages)."""

    def handle_return(self, handling: ReturnHandling) -> ProcessResult:
        """Tell the marketplace how a returned line was handled. Raises Transient when unknown."""

    def find_return_process(self, handling: ReturnHandling) -> ProcessResult | None:
        """After an unknown outcome: the process an earlier handle_return of this return started
        (excluding failed ones), so a retry is a lookup of one return, not a scan of them all."""


# ---------------------------------------------------------------- shop side
@dataclass(frozen=True)
class TrackedLine:
    """A line a tracking entry says it carries (a partial shipment)."""
    shop_line_id: int | None         # the shop's order line item id (None: only the product was named)
    quantity: int | None             # None: the line's whole quantity
    external_line_id: str | None = None   # our marketplace line id (WooCommerce: order meta `_orderbridge_lines`)
    product_id: int | None = None


@dataclass(frozen=True)
class Tracking:
    provider: str               # as written in the shop (e.g. "PostNL", "DHL")
    number: str
    # The lines this entry ships (a partial shipment, each line with its own T&T); empty: the
    # entry is for the order as a whole, i.e. whatever no other entry carries.
    line_items: tuple[TrackedLine, ...] = ()


# What a merchant calls each marketplace (the shop's order screen shows it as the payment method).
MARKETPLACE_TITLES = {"bol": "bol.com", "amazon": "Amazon"}


def marketplace_title(marketplace: str) -> str:
    return MARKETPLACE_TITLES.get(marketplace, marketplace)


@dataclass(frozen=True)
class ShopOrderDraft:
    ref: str                    # our marker, written to order meta `_orderbridge_ref`
    marketplace: str            # "bol"
    external_id: str            # marketplace order id, also written to meta
    status: str                 # e.g. "processing"
    lines: tuple[MarketplaceLine, ...]
    shipping: Address
    billing: Address | None = None
    note: str = ""
    # The shop's product (or variation) of each line, by position, found by the shop's own
    # matching rule; None (or a shorter tuple): not found, the line names its product by SKU.
    line_products: tuple[ShopProduct | None, ...] = ()
    marketplace_title: str = ""     # "bol.com"; empty: marketplace_title(marketplace)

    def product_of(self, index: int) -> ShopProduct | None:
        return self.line_products[index] if index < len(self.line_products) else None


@dataclass(frozen=True)
class ShopOrder:
    id: int
    number: str
    status: str
    ref: str | None             # our marker if the order was created by us
    date_created: datetime | None
    date_modified: datetime | None
    tracking: tuple[Tracking, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ShopOrderLine:
    """A line of a shop order we created: its shop line id and our marketplace line id."""
    id: int
    external_line_id: str | None     # ours (WooCommerce: order meta `_orderbridge_lines`), None on lines not ours
    product_id: int | None
    quantity: int
    total: Decimal


@dataclass(frozen=True)
class ShopProduct:
    """A simple product or a variation, as stock sync sees it."""
    id: int
    parent_id: int | None
    sku: str
    ean: str                         # the configured EAN meta key, else the GTIN field ("" when absent)
    stock: int | None                # None when the shop does not manage this product's stock
    modified_at: datetime | None = None


@dataclass(frozen=True)
class ShopCapabilities:
    """What the shop's software has, as far as the sync cares. None: the shop did not say.
    `has_gtin`: products carry a GTIN field of the shop's own (WooCommerce 9.2+:
    `global_unique_id`); without it EAN matching needs an EAN meta key, or SKU matching."""
    version: str | None = None       # the shop software's version, for display (e.g. "7.8.2")
    has_gtin: bool | None = None


@dataclass(frozen=True)
class RefundLine:
    shop_line_id: int
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class ShopRefund:
    id: int
    amount: Decimal
    reason: str
    lines: tuple[RefundLine, ...] = ()   # empty: a refund of an amount only
    date_created: datetime | None = None
    marker: str | None = None            # ours: the marker we stored in the refund's meta


class ShopPort(Protocol):
    def create_order(self, draft: ShopOrderDraft) -> ShopOrder:
        """Raises Transient when the outcome is unknown (then use find_order_by_ref)."""

    def find_order_by_ref(self, ref: str, created_after: datetime) -> ShopOrder | None: ...

    def get_order(self, order_id: int) -> ShopOrder: ...

    def orders_modified_after(self, since: datetime) -> Iterator[ShopOrder]: ...

    def ensure_webhooks(self, delivery_url: str, secret: str, topics: tuple[str, ...], *,
                        fresh: bool = False) -> list[int]:
        """One active webhook per topic: create missing ones, replace disabled ones by new ones
        (never re-activated: the shop keeps their failure count); `fresh` replaces all of ours.
        Returns their ids."""

    def webhooks_for(self, delivery_url: str) -> list[dict]:
        """{id, topic, status} of every webhook delivering to `delivery_url`."""

    def remove_webhooks(self, delivery_url: str) -> int:
        """Delete every webhook delivering to `delivery_url`; returns how many were deleted."""

    # -- order lines, cancellations, notes, refunds
    def order_lines(self, order_id: int) -> list[ShopOrderLine]: ...

    def cancel_order(self, order_id: int, note: str) -> ShopOrder:
        """Status cancelled (WooCommerce gives the reduced stock back) plus an order note.
        Idempotent: an already cancelled order is returned as it is."""

    def remove_lines(self, order_id: int, external_line_ids: tuple[str, ...], note: str) -> ShopOrder:
        """Partial cancellation: those lines taken out of the order and their stock given back,
        plus an order note. (WooCommerce: a zero-money refund of the lines with restock; the
        lines stay on the order, marked refunded.) Idempotent: lines already refunded are skipped."""

    def add_note(self, order_id: int, note: str) -> int:
        """A private order note; returns its id. Not idempotent: after an unknown outcome, look
        it up with find_note before adding it again."""

    def find_note(self, order_id: int, marker: str) -> int | None:
        """The id of the order's private note whose text contains `marker`, if any."""

    def create_refund(self, order_id: int, lines: tuple[RefundLine, ...], amount: Decimal, reason: str, *,
                      restock: bool = False, marker: str | None = None) -> ShopRefund:
        """A refund record with `api_refund` off: no money moves without the merchant. `marker`
        is kept in the refund's meta (ShopRefund.marker). Not idempotent: after an unknown
        outcome, look it up in list_refunds by its marker."""

    def list_refunds(self, order_id: int) -> list[ShopRefund]: ...

    # -- products and stock
    def get_product(self, product_id: int) -> ShopProduct: ...

    def find_products(self, *, eans: tuple[str, ...] = (), skus: tuple[str, ...] = ()) -> list[ShopProduct]:
        """Products and variations (any stock setting) whose SKU is one of `skus` and those whose
        EAN is one of `eans` (each EAN's first product; the search stops once all are found).
        For order lines the offer links cannot place: an SKU look-up is one request, an EAN
        look-up may read the whole catalogue (WooCommerce cannot filter on the GTIN or meta)."""

    def products_modified_after(self, since: datetime) -> Iterator[ShopProduct]:
        """Every product and variation modified at or after `since` (all pages)."""

    def all_products(self) -> Iterator[ShopProduct]:
        """Every product and variation with managed stock (for the reconcile)."""

    def shop_capabilities(self) -> ShopCapabilities:
        """The shop's version and fields (cheap: a few reads). Raises AdapterError when the
        shop cannot be asked at all; a part it does not answer is None."""


# ---------------------------------------------------------------- the job queue
class Enqueuer(Protocol):
    """How use cases ask for follow-up work; jobs.py implements it with Huey. Every call is
    a hint: the dispatcher's sweeps find the same work in the database if a job is lost.
    `delay`: seconds until the job should start (the heartbeat enqueues a poll due before its
    next tick to start at its due time)."""

    def backlog(self) -> int:
        """How many jobs wait to start: the sweeps hold back while the queue is long."""

    def poll_connection(self, connection_id: int, delay: float = 0) -> None: ...

    def poll_shop(self, shop_id: int, delay: float = 0) -> None: ...

    def import_order(self, connection_id: int, external_id: str) -> None: ...

    def create_in_shop(self, order_id: int, delay: float = 0) -> None: ...

    def push_shipment(self, shipment_id: int, delay: float = 0) -> None: ...

    def follow_shipment(self, shipment_id: int, delay: float = 0) -> None: ...

    def process_delivery(self, delivery_id: int, delay: float = 0) -> None: ...

    def grace_sweep(self) -> None: ...

    def push_stock(self, connection_id: int, delay: float = 0) -> None: ...

    def reconcile_stock(self, connection_id: int, delay: float = 0) -> None: ...

    def push_cancellation(self, cancellation_id: int, delay: float = 0) -> None: ...

    def poll_returns(self, connection_id: int, delay: float = 0) -> None: ...

    def push_return(self, return_id: int, delay: float = 0) -> None: ...


# ---------------------------------------------------------------- the store, as the use cases see it
# Named operations instead of SQL (cosmicpython's repository and unit of work): plugin/store holds
# the SQL implementation (unit_of_work.py) and an in-memory twin for unit tests (memory.py). The
# rows they hand out carry the columns of plugin/store/models.py as attributes; a change to one
# inside the unit of work is saved when it ends without an error, and nothing is on any error.
class ShopRows(Protocol):
    def get(self, shop_id: int) -> Any | None: ...

    def disconnect(self, shop_id: int, at: datetime, reason: str) -> bool:
        """active -> disconnected (compare-and-set): of two racing disconnections one wins, and the
        first time and reason stand (retention counts from them). False: it already was."""

    def disconnected_before(self, cutoff: datetime) -> list[int]:
        """The shops disconnected before `cutoff` (and not re-installed since)."""

    def purge(self, shop_id: int, cutoff: datetime) -> bool:
        """Delete the shop, everything it owns and its poll cursors, if it is still disconnected
        since before `cutoff` (a re-install in between wins). False: it was not."""


class ConnectionRows(Protocol):
    def of_shop(self, shop_id: int) -> list[Any]: ...


class PollCursors(Protocol):
    """How far each poll stream got (`connection:<id>:orders`, `shop:<id>:orders`, ...)."""

    def read_from(self, stream: str) -> datetime | None:
        """Where the next poll of `stream` starts reading (None: from the beginning)."""

    def succeeded(self, stream: str, started: datetime, now: datetime) -> None:
        """A poll that began at `started` went through: the next one reads from there."""

    def failed(self, stream: str, error: str) -> None:
        """The poll failed: the cursor stays, the reason is kept for the admin."""

    def claim_period(self, stream: str, now: datetime, every: timedelta) -> bool:
        """Compare-and-set: True for exactly one caller per period `every` (with many
        dispatchers, one runs a periodic chore)."""


class History(Protocol):
    def forget_stock_updates_before(self, cutoff: datetime) -> int:
        """Delete finished stock updates (sent, superseded, skipped) last changed before `cutoff`."""

    def forget_grants_expired_before(self, cutoff: datetime) -> int:
        """Delete install and sign-in grants that expired before `cutoff`."""


class UnitOfWork(Protocol):
    shops: ShopRows
    connections: ConnectionRows
    cursors: PollCursors
    history: History

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: Any) -> None: ...
