"""The fake's data: what bol stores about orders, async processes and received shipments.

Plain mutable dataclasses; BolState owns them and guards every change with its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass
class OrderItem:
    order_item_id: str
    ean: str
    title: str
    offer_id: str
    offer_reference: str | None
    quantity: int
    unit_price: Decimal
    commission: Decimal
    fulfilment_method: str              # FBR | FBB
    time_frame_type: str
    latest_delivery_date: date
    latest_changed: datetime
    cancellation_request: bool = False
    quantity_shipped: int = 0
    quantity_cancelled: int = 0

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.quantity_shipped - self.quantity_cancelled

    @property
    def fulfilment_status(self) -> str:
        # bol's ReducedOrderItem.fulfilmentStatus: HANDLED once shipped or cancelled in full.
        return "OPEN" if self.open_quantity > 0 else "HANDLED"


@dataclass
class Order:
    order_id: str
    seller: str                          # the client id the order belongs to
    placed_at: datetime
    shipment_details: dict
    billing_details: dict
    items: list[OrderItem]
    pickup_point: bool = False


@dataclass
class Process:
    """A bol process status: the asynchronous outcome of a write."""
    process_id: str
    seller: str
    entity_id: str
    event_type: str
    description: str
    created_at: float                    # state clock (epoch seconds)
    ready_at: float                      # when the outcome becomes visible
    payload: dict = field(default_factory=dict)
    status: str = "PENDING"              # PENDING | SUCCESS | FAILURE | TIMEOUT
    error_message: str | None = None
    shipment_id: str | None = None


@dataclass
class ShipmentReceived:
    """One POST /retailer/shipments that reached the shipment service (tests assert on these)."""
    seller: str
    body: object                         # the parsed JSON body as sent (may be invalid)
    received_at: float                   # time.time() when the request arrived
    http_status: int                     # what the caller was answered (202, 400, or 500 if lost)
    process_id: str | None = None        # None when rejected synchronously (400)


@dataclass
class WriteReceived:
    """One cancellation PUT or return-handling PUT that reached its endpoint (tests assert on these)."""
    seller: str
    body: object                         # the parsed JSON body as sent (may be invalid)
    received_at: float                   # time.time() when the request arrived
    http_status: int                     # what the caller was answered (202, 400, or 500 if lost)
    process_id: str | None = None        # None when rejected synchronously (400)
    subject: str | None = None           # the order item id (cancellation) or rma id (return)


# ------------------------------------------------------------------ offers (Offers API v11)
@dataclass
class StockUpdateReceived:
    """One PATCH /retailer/offers/{offer-id} that reached the offer service."""
    seller: str
    offer_id: str
    body: object
    received_at: float
    http_status: int                     # 204, 400, 404, or 500 when the answer was lost
    applied: bool = False                # whether the stock (or anything else) was changed


@dataclass
class Offer:
    offer_id: str                        # uuid
    seller: str
    ean: str
    title: str
    reference: str | None
    unit_price: Decimal
    stock_amount: int
    managed_by_retailer: bool
    stock_updated_at: datetime           # the "last offer update" correctedStock counts orders after
    last_modified: datetime
    fulfilment_method: str = "FBR"
    on_hold: bool = False


# ------------------------------------------------------------------ returns
@dataclass
class ReturnItem:
    rma_id: str
    order_id: str
    order_item_id: str                   # not part of bol's ReturnItem: the fake's own link
    ean: str
    title: str
    expected_quantity: int
    main_reason: str
    detailed_reason: str | None
    customer_comments: str
    customer_details: dict
    track_and_trace: str | None = None
    transporter_name: str | None = None
    handled: bool = False
    processing_results: list[dict] = field(default_factory=list)


@dataclass
class Return:
    return_id: str
    seller: str
    registered_at: datetime
    fulfilment_method: str
    items: list[ReturnItem]
