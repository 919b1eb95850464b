"""How bol settles shipments, cancellations and return handlings asynchronously.

POST /retailer/shipments only checks the request's shape and answers 202 PENDING; whether the
shipment is possible (known item of this seller, still open, known transporter) is decided later
by bol's backend and shows up as SUCCESS or FAILURE in the process status. The fake reproduces
that split, so a client that treats 202 as "shipped" is caught by the tests.

Processes are settled lazily, in creation order, whenever anyone reads state (no background
threads): two quick shipments of the same item therefore end SUCCESS then FAILURE, as on bol.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sandbox.bol.constants import REJECTING_RESULTS, TRANSPORTER_CODES
from sandbox.bol.records import OrderItem, Process

if TYPE_CHECKING:
    from sandbox.bol.state import BolState


def settle_shipment(state: BolState, process: Process, now: datetime) -> None:
    """Decide and apply the outcome of one shipment process (caller holds the lock)."""
    body = process.payload
    problem, plan = _plan(state, process.seller, body)
    if problem:
        process.status = "FAILURE"
        process.error_message = problem
        return
    shipment_id = state.next_shipment_id()
    transport = body.get("transport") or None
    for item, quantity in plan:
        item.quantity_shipped += quantity
        item.latest_changed = now
    state.shipments[shipment_id] = {
        "shipmentId": shipment_id,
        "seller": process.seller,
        "shipmentReference": body.get("shipmentReference"),
        "orderItems": [{"orderItemId": item.order_item_id, "quantity": q} for item, q in plan],
        "transport": transport,
        "processStatusId": process.process_id,
    }
    process.status = "SUCCESS"
    process.shipment_id = shipment_id


def _plan(state: BolState, seller: str, body: dict) -> tuple[str | None, list[tuple[OrderItem, int]]]:
    """(error message, []) or (None, [(item, quantity to ship), ...])."""
    transport = body.get("transport")
    if transport:
        code = transport.get("transporterCode")
        if code not in TRANSPORTER_CODES:
            return f"Transporter code '{code}' is not a valid transporter code.", []
    plan: list[tuple[OrderItem, int]] = []
    order_ids = set()
    for entry in body["orderItems"]:
        item_id = entry["orderItemId"]
        found = state.find_item(item_id)
        if found is None or found[0].seller != seller:
            # Never reveal that another seller's item exists.
            return f"Order item {item_id} could not be found.", []
        order, item = found
        order_ids.add(order.order_id)
        if item.fulfilment_method != "FBR":
            return f"Order item {item_id} is fulfilled by bol.com and cannot be shipped by the retailer.", []
        if item.open_quantity <= 0:
            return f"Order item {item_id} has already been shipped or cancelled.", []
        quantity = entry.get("quantity") or item.open_quantity
        if quantity > item.open_quantity:
            return (f"Quantity {quantity} for order item {item_id} exceeds the open quantity "
                    f"{item.open_quantity}."), []
        plan.append((item, quantity))
    if len(order_ids) > 1:
        return "All order items in one shipment must belong to the same order.", []
    if len({item.order_item_id for item, _ in plan}) != len(plan):
        return "An order item may appear only once in a shipment.", []
    return None, plan


# ------------------------------------------------------------------ cancellations
def settle_cancellation(state: BolState, process: Process, now: datetime) -> None:
    """PUT /retailer/orders/cancellation, decided: the item's whole open quantity is cancelled, or
    FAILURE when the item is unknown (or another seller's), fulfilled by bol, or has nothing open
    (already shipped, or already cancelled)."""
    entry = process.payload["orderItems"][0]
    item_id = entry["orderItemId"]
    found = state.find_item(item_id)
    if found is None or found[0].seller != process.seller:
        return _fail(process, f"Order item {item_id} could not be found.")
    _, item = found
    if item.fulfilment_method != "FBR":
        return _fail(process, f"Order item {item_id} is fulfilled by bol.com and cannot be cancelled by the retailer.")
    if item.open_quantity <= 0:
        if item.quantity_shipped > 0 and item.quantity_cancelled == 0:
            return _fail(process, f"Order item {item_id} has already been shipped and cannot be cancelled.")
        if item.quantity_shipped == 0:
            return _fail(process, f"Order item {item_id} has already been cancelled.")
        return _fail(process, f"Order item {item_id} has already been shipped or cancelled.")
    item.quantity_cancelled += item.open_quantity
    item.latest_changed = now
    process.status = "SUCCESS"


# ------------------------------------------------------------------ returns
def settle_return(state: BolState, process: Process, now: datetime) -> None:
    """PUT /retailer/returns/{rma-id}, decided: the return item is handled with one more
    processing result, or FAILURE for an unknown (or another seller's) rma id, a quantity above
    what the buyer sends back, or STILL_APPROVED on a return that was never handled."""
    body = process.payload
    rma_id = process.entity_id
    found = state.find_return_item(rma_id)
    if found is None or found[0].seller != process.seller:
        return _fail(process, f"Return item with rma id {rma_id} could not be found.")
    _, item = found
    result, quantity = body["handlingResult"], body["quantityReturned"]
    if quantity > item.expected_quantity:
        return _fail(process, f"Quantity returned {quantity} exceeds the expected quantity {item.expected_quantity} "
                              f"of return item {rma_id}.")
    if result == "STILL_APPROVED" and not item.handled:
        return _fail(process, f"Return item {rma_id} has not been handled yet; STILL_APPROVED only changes a "
                              "handled return.")
    latest = item.processing_results[-1] if item.processing_results else None
    if not (latest and latest["handlingResult"] == result and latest["quantity"] == quantity):
        # Handling again with the same result and quantity changes nothing (a resend is harmless).
        item.processing_results.append({
            "quantity": quantity,
            "processingResult": "REJECTED" if result in REJECTING_RESULTS else "ACCEPTED",
            "handlingResult": result,
            "processingDateTime": now.isoformat(timespec="seconds"),
        })
    item.handled = True
    process.status = "SUCCESS"


def _fail(process: Process, message: str) -> None:
    process.status = "FAILURE"
    process.error_message = message
