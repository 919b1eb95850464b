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
