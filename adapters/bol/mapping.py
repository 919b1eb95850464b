"""Pure translation between bol.com Retailer API v10 (and Offers API v11) JSON and the neutral
port dataclasses.

No I/O here, so every shape bol can send (including the odd ones: `{}` for an empty page,
nulls for optional fields) is covered by fast unit tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from plugin.sync.ports import (
    Address,
    CancelItems,
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceReturn,
    Offer,
    OfferStock,
    OrderSummary,
    ProcessResult,
    ReturnHandling,
    ShipmentRequest,
)

MAX_SHIPMENT_ITEMS = 100          # ShipmentRequest.orderItems maxItems
MAX_SHIPMENT_REFERENCE = 90       # ShipmentRequest.shipmentReference maxLength

# OrderItemCancellation.reasonCode (retailer-v10.json). CancellationRequest.orderItems takes exactly
# one item, so cancelling n lines is n calls, each with its own process status.
CANCELLATION_REASONS = frozenset({
    "OUT_OF_STOCK", "REQUESTED_BY_CUSTOMER", "BAD_CONDITION", "HIGHER_SHIPCOST", "INCORRECT_PRICE",
    "NOT_AVAIL_IN_TIME", "NO_BOL_GUARANTEE", "ORDERED_TWICE", "RETAIN_ITEM", "TECH_ISSUE",
    "UNFINDABLE_ITEM", "OTHER",
})
# ReturnRequest.handlingResult (retailer-v10.json) and quantityReturned 1..9999.
HANDLING_RESULTS = frozenset({
    "RETURN_RECEIVED", "EXCHANGE_PRODUCT", "RETURN_DOES_NOT_MEET_CONDITIONS", "REPAIR_PRODUCT",
    "CUSTOMER_KEEPS_PRODUCT_PAID", "STILL_APPROVED",
})
MAX_QUANTITY_RETURNED = 9999
INT32_MAX = 2**31 - 1

# Several processes followed as one (a cancellation of n lines is n bol processes): their ids
# joined by this, in line order. bol's own process ids are digits, so it never occurs in one.
PROCESS_ID_SEPARATOR = ","


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
        cancellation_requested=tuple(str(i["orderItemId"]) for i in order.get("orderItems") or []
                                     if i.get("cancellationRequest")),
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


def order_line(item: dict) -> MarketplaceLine:
    product = item.get("product") or {}
    offer = item.get("offer") or {}
    return MarketplaceLine(
        external_line_id=str(item["orderItemId"]),
        ean=_text(product.get("ean")),
        title=_text(product.get("title")),
        # What the customer ordered; cancelled quantities are the cancellation flow's business.
        quantity=int(item.get("quantity") or 0),
        unit_price=money(item.get("unitPrice")),
        sku=_text(offer.get("reference")),
        # The buyer asked to cancel this item (bol shows it until the seller cancels or ships).
        cancellation_requested=bool(item.get("cancellationRequest")),
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

    for line_id, quantity in request.quantities:
        if line_id not in request.line_ids or quantity < 1:
            raise ValueError(f"quantity {quantity} of order item {line_id} is not part of the shipment")
    # No quantity: bol then ships the full open quantity of the item (whole lines). A part of a
    # line (a partial shipment) names its quantity; bol refuses more than is still open.
    items = []
    for line_id in request.line_ids:
        quantity = request.quantity_of(line_id)
        items.append({"orderItemId": line_id} if quantity is None else {"orderItemId": line_id, "quantity": quantity})
    body: dict = {"orderItems": items}
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


def newest_active_process(payload: dict, exclude: tuple[str, ...] = ()) -> ProcessResult | None:
    """From a ProcessStatusResponse: the newest process that did not fail, or None. Processes
    in `exclude` (known to be another write's) are not candidates.

    bol lists newest first; sort by createTimestamp anyway and let list order break ties
    (timestamps have one-second resolution)."""
    candidates = [(n, p) for n, p in enumerate(payload.get("processStatuses") or [])
                  if p.get("status") != "FAILURE" and str(p.get("processStatusId")) not in exclude]
    if not candidates:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    _, newest = max(candidates, key=lambda c: (parse_datetime(c[1].get("createTimestamp")) or oldest, -c[0]))
    return process_result(newest)


# ------------------------------------------------------------------ process status, combined
def combined_process(results: list[ProcessResult]) -> ProcessResult:
    """Several bol processes as one result: FAILURE if any failed (every error, prefixed by its
    process id), else TIMEOUT if any timed out, else PENDING while any is pending, else SUCCESS.
    The id joins the processes' ids (split_process_id gives them back)."""
    if not results:
        raise ValueError("no processes to combine")
    if len(results) == 1:
        return results[0]
    statuses = {r.status for r in results}
    status = next((s for s in ("FAILURE", "TIMEOUT", "PENDING") if s in statuses), "SUCCESS")
    errors = [f"{r.process_id}: {r.error}" for r in results if r.error and r.status in ("FAILURE", "TIMEOUT")]
    return ProcessResult(
        process_id=PROCESS_ID_SEPARATOR.join(r.process_id for r in results),
        status=status,
        error="; ".join(errors) or None,
    )


def split_process_id(process_id: str) -> list[str]:
    return [part for part in process_id.split(PROCESS_ID_SEPARATOR) if part]


# ------------------------------------------------------------------ offers (offers-v11.json)
def offer(payload: dict) -> Offer:
    """OfferResponse -> Offer. `stock` is the amount the retailer last set (what a reconcile
    compares with), not bol's correctedStock (that amount minus open orders)."""
    stock = payload.get("stock") or {}
    amount = stock.get("amount")
    managed = stock.get("managedByRetailer")
    return Offer(
        offer_id=str(payload["offerId"]),
        ean=_text(payload.get("ean")),
        reference=_text(payload.get("reference")),
        stock=int(amount) if isinstance(amount, int) and not isinstance(amount, bool) else None,
        managed_by_retailer=managed if isinstance(managed, bool) else None,
    )


def offers_page(payload: dict) -> tuple[list[Offer], str | None]:
    """OfferListResponse -> (offers, the cursor of the next page or None on the last page)."""
    offers = [offer(o) for o in payload.get("offers") or []]
    cursor = (payload.get("page") or {}).get("nextCursor")
    return offers, (str(cursor) if cursor else None)


def stock_body(update: OfferStock) -> dict:
    """StockUpdate -> PATCH /retailer/offers/{offer-id} body (PatchOfferRequest with only its stock:
    a PATCH changes only what it names). ValueError for what bol would refuse."""
    if not update.offer_id:
        raise ValueError("a stock update needs an offer id")
    if isinstance(update.amount, bool) or not isinstance(update.amount, int) or not 0 <= update.amount <= INT32_MAX:
        raise ValueError(f"stock amount must be an integer >= 0, got {update.amount!r}")
    return {"stock": {"amount": update.amount, "managedByRetailer": bool(update.managed_by_retailer)}}


# ------------------------------------------------------------------ cancellations
def cancellation_bodies(request: CancelItems) -> list[dict]:
    """CancelItems -> one PUT /retailer/orders/cancellation body per line (bol takes one order item
    a call). ValueError for what bol would refuse."""
    if not request.line_ids:
        raise ValueError("a cancellation needs at least one order item")
    if any(not line_id for line_id in request.line_ids):
        raise ValueError("order item ids must not be empty")
    if len(set(request.line_ids)) != len(request.line_ids):
        raise ValueError("an order item may be cancelled only once per request")
    if request.reason_code not in CANCELLATION_REASONS:
        raise ValueError(f"unknown bol cancellation reason code {request.reason_code!r}")
    return [{"orderItems": [{"orderItemId": line_id, "reasonCode": request.reason_code}]}
            for line_id in request.line_ids]


# ------------------------------------------------------------------ returns
def return_handling_body(handling: ReturnHandling) -> dict:
    """ReturnHandling -> PUT /retailer/returns/{rma-id} body (ReturnRequest). ValueError for what
    bol would refuse (the rma id is an integer path parameter)."""
    if not str(handling.rma_id).isdigit():
        raise ValueError(f"an rma id is a number, got {handling.rma_id!r}")
    if handling.handling_result not in HANDLING_RESULTS:
        raise ValueError(f"unknown bol handling result {handling.handling_result!r}")
    quantity = handling.quantity_returned
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY_RETURNED:
        raise ValueError(f"quantity returned must be between 1 and {MAX_QUANTITY_RETURNED}, got {quantity!r}")
    return {"handlingResult": handling.handling_result, "quantityReturned": quantity}


def return_reason(reason: dict | None) -> str:
    """ReturnReason -> one line: main reason, the detailed reason after a colon, the buyer's
    comments in quotes."""
    r = reason or {}
    text = _text(r.get("mainReason"))
    if r.get("detailedReason"):
        text = f"{text}: {r['detailedReason']}" if text else _text(r["detailedReason"])
    if r.get("customerComments"):
        text = f'{text} ("{r["customerComments"]}")' if text else f'"{r["customerComments"]}"'
    return text


def line_id_for(order: dict, ean: str, quantity: int = 1) -> str:
    """The order item a return item is about. bol's return items name the order and the EAN, not
    the order item: take the item of that EAN (the first one shipped at least `quantity` when the
    EAN occurs more than once); "" when the order has none."""
    candidates = [i for i in order.get("orderItems") or []
                  if _text((i.get("product") or {}).get("ean")) == ean]
    shipped = [i for i in candidates if int(i.get("quantityShipped") or 0) >= quantity]
    chosen = (shipped or candidates or [None])[0]
    return _text(chosen.get("orderItemId")) if chosen else ""


def return_keys(payload: dict) -> list[tuple[str, str]]:
    """(orderId, ean) of every return item of a ReturnsResponse / Return, in order."""
    returns = payload.get("returns") if "returns" in payload else [payload]
    return [(_text(item.get("orderId")), _text(item.get("ean")))
            for r in returns or [] for item in r.get("returnItems") or []]


def marketplace_returns(payload: dict, line_ids: dict[tuple[str, str], str] | None = None) -> list[MarketplaceReturn]:
    """GET /retailer/returns (ReturnsResponse) or GET /retailer/returns/{id} (Return) -> one
    MarketplaceReturn per return item. `line_ids` maps (orderId, ean) to the order item id
    (see line_id_for); an item without one gets line_id "". bol answers an empty page with
    `{"returns": []}` (or `{}`): no returns."""
    returns = payload.get("returns") if "returns" in payload else ([payload] if payload.get("returnId") else [])
    found = []
    for record in returns or []:
        registered = parse_datetime(record.get("registrationDateTime"))
        for item in record.get("returnItems") or []:
            results = item.get("processingResults") or []
            latest = results[-1] if results else {}
            key = (_text(item.get("orderId")), _text(item.get("ean")))
            found.append(MarketplaceReturn(
                return_id=_text(record.get("returnId")),
                rma_id=_text(item.get("rmaId")),
                external_order_id=key[0],
                line_id=(line_ids or {}).get(key, ""),
                quantity=int(item.get("expectedQuantity") or 0),
                reason=return_reason(item.get("returnReason")),
                registered_at=registered,
                handled=bool(item.get("handled")),
                handling_result=latest.get("handlingResult") or None,
                quantity_returned=int(latest["quantity"]) if latest.get("quantity") is not None else None,
            ))
    return found
