"""Pure translation between bol.com Retailer API v10 JSON and the neutral port dataclasses.

No I/O here, so every shape bol can send (including the odd ones: `{}` for an empty page,
nulls for optional fields) is covered by fast unit tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from plugin.sync.ports import (
    Address,
    MarketplaceOrder,
    OrderLine,
    OrderSummary,
    ProcessResult,
    ShipmentRequest,
)

MAX_SHIPMENT_ITEMS = 100          # ShipmentRequest.orderItems maxItems
MAX_SHIPMENT_REFERENCE = 90       # ShipmentRequest.shipmentReference maxLength


# ------------------------------------------------------------------ scalars
def parse_datetime(value: str | None) -> datetime | None:
    """bol's ISO 8601 timestamps (with offset, e.g. +01:00) as aware UTC; None when absent/bad."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:       # bol always sends an offset; don't guess local time
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def money(value: object) -> Decimal:
    """A JSON number as an exact Decimal: via str(), so 12.99 stays 12.99 (not 12.9899999...)."""
    if value is None:
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None


def _text(value: object) -> str:
    return "" if value is None else str(value)


# ------------------------------------------------------------------ orders
def order_summaries(payload: dict) -> list[OrderSummary]:
    """GET /retailer/orders (ReducedOrders). bol answers an empty page with `{}`, the spec with
    `{"orders": []}`; both mean "no more orders"."""
    return [order_summary(o) for o in payload.get("orders") or []]


def order_summary(order: dict) -> OrderSummary:
    return OrderSummary(
        external_id=str(order["orderId"]),
        placed_at=parse_datetime(order.get("orderPlacedDateTime")),
        line_ids=tuple(str(i["orderItemId"]) for i in order.get("orderItems") or []),
    )


def address(details: dict | None) -> Address:
    """ShipmentDetails / BillingDetails -> Address (nulls become "")."""
    d = details or {}
    return Address(
        first_name=_text(d.get("firstName")),
        last_name=_text(d.get("surname")),
        company=_text(d.get("company")),
        street=_text(d.get("streetName")),
        house_number=_text(d.get("houseNumber")),
        house_number_ext=_text(d.get("houseNumberExtension")),
        extra=_text(d.get("extraAddressInformation")),
        zip_code=_text(d.get("zipCode")),
        city=_text(d.get("city")),
        country_code=_text(d.get("countryCode")),
        email=_text(d.get("email")),
        # Only shipment details carry a phone number, and only when delivery needs an appointment.
        phone=_text(d.get("deliveryPhoneNumber")),
    )


def order_line(item: dict) -> OrderLine:
    product = item.get("product") or {}
    offer = item.get("offer") or {}
    return OrderLine(
        external_line_id=str(item["orderItemId"]),
        ean=_text(product.get("ean")),
        title=_text(product.get("title")),
        # What the customer ordered; cancelled quantities are the cancellation flow's business.
        quantity=int(item.get("quantity") or 0),
        unit_price=money(item.get("unitPrice")),
        sku=_text(offer.get("reference")),
    )


def marketplace_order(order: dict) -> MarketplaceOrder:
    """GET /retailer/orders/{order-id} (Order) -> MarketplaceOrder."""
    items = order.get("orderItems") or []
    methods = {((i.get("fulfilment") or {}).get("method") or "FBR") for i in items}
    billing = order.get("billingDetails")
    return MarketplaceOrder(
        external_id=str(order["orderId"]),
        placed_at=parse_datetime(order.get("orderPlacedDateTime")),
        lines=tuple(order_line(i) for i in items),
        shipping=address(order.get("shipmentDetails")),
        billing=address(billing) if billing else None,
        # FBB only when bol ships everything; anything with a retailer-fulfilled item is ours to ship.
        fulfilment_method="FBB" if methods == {"FBB"} else "FBR",
    )


# ------------------------------------------------------------------ shipments
def shipment_body(request: ShipmentRequest) -> dict:
    """ShipmentRequest -> POST /retailer/shipments body. Raises ValueError for requests bol
    would refuse with 400 anyway (so the caller gets a clear reason without a round trip)."""
    if not request.line_ids:
        raise ValueError("a shipment needs at least one order item")
    if len(request.line_ids) > MAX_SHIPMENT_ITEMS:
        raise ValueError(f"a shipment holds at most {MAX_SHIPMENT_ITEMS} order items, got {len(request.line_ids)}")
    if request.reference and len(request.reference) > MAX_SHIPMENT_REFERENCE:
        raise ValueError(f"shipment reference longer than {MAX_SHIPMENT_REFERENCE} characters")
    if request.track_and_trace and not request.transporter_code:
        raise ValueError("a track-and-trace code needs a transporter code")

    # No quantity: bol then ships the full open quantity of each item, which is what the port means.
    body: dict = {"orderItems": [{"orderItemId": line_id} for line_id in request.line_ids]}
    if request.reference:
        body["shipmentReference"] = request.reference      # bol refuses "", accepts absent/null
    if request.transporter_code:
        transport = {"transporterCode": request.transporter_code}
        if request.track_and_trace:
            transport["trackAndTrace"] = request.track_and_trace
        body["transport"] = transport
    # Without a transporter the transport is left out rather than sent as null: bol reads both as
    # "shipped without T&T", but the spec declares `nullable` next to an `allOf`, which strict
    # OpenAPI 3.0 validators (and possibly bol's gateway) do not accept as allowing null.
    return body


def process_result(payload: dict) -> ProcessResult:
    """ProcessStatus -> ProcessResult."""
    return ProcessResult(
        process_id=str(payload["processStatusId"]),
        status=str(payload["status"]),
        error=payload.get("errorMessage") or None,
    )


def newest_active_process(payload: dict) -> ProcessResult | None:
    """From a ProcessStatusResponse: the newest process that did not fail, or None.

    bol lists newest first; sort by createTimestamp anyway and let list order break ties
    (timestamps have one-second resolution)."""
    candidates = [(n, p) for n, p in enumerate(payload.get("processStatuses") or [])
                  if p.get("status") != "FAILURE"]
    if not candidates:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    _, newest = max(candidates, key=lambda c: (parse_datetime(c[1].get("createTimestamp")) or oldest, -c[0]))
    return process_result(newest)
