"""POST /retailer/shipments: synchronous shape check, then an asynchronous process status.

Only what the OpenAPI schema can see is refused here with 400 (missing fields, 0 or >100 items,
a reference that is too long). Whether the shipment makes sense is bol's backend's business and
ends up as FAILURE in the process status (see processing.py).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import MAX_SHIPMENT_ITEMS, MAX_SHIPMENT_REFERENCE, VENDOR_JSON
from sandbox.bol.responses import problem, vendor_json, violation

bp = Blueprint("bol_shipments", __name__)


def validate(body: object) -> list[dict]:
    """Violations of ShipmentRequest (retailer-v10.json); empty when the body is acceptable."""
    if not isinstance(body, dict):
        return [violation("body", "must be a JSON object")]
    found = []
    items = body.get("orderItems")
    if not isinstance(items, list):
        found.append(violation("orderItems", "must not be null"))
    elif not 1 <= len(items) <= MAX_SHIPMENT_ITEMS:
        found.append(violation("orderItems", f"size must be between 1 and {MAX_SHIPMENT_ITEMS}"))
    else:
        for n, entry in enumerate(items):
            if not isinstance(entry, dict):
                found.append(violation(f"orderItems[{n}]", "must be an object"))
                continue
            item_id = entry.get("orderItemId")
            if not isinstance(item_id, str) or not item_id:
                found.append(violation(f"orderItems[{n}].orderItemId", "must not be blank"))
            quantity = entry.get("quantity")
            if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)
                                         or quantity < 1):
                found.append(violation(f"orderItems[{n}].quantity", "must be greater than or equal to 1"))
    reference = body.get("shipmentReference")
    if reference is not None:
        if not isinstance(reference, str) or not reference:
            found.append(violation("shipmentReference", "Only 'null' or non-empty strings accepted."))
        elif len(reference) > MAX_SHIPMENT_REFERENCE:
            found.append(violation("shipmentReference", f"size must be between 0 and {MAX_SHIPMENT_REFERENCE}"))
    label = body.get("shippingLabelId")
    if label is not None and not isinstance(label, str):
        found.append(violation("shippingLabelId", "must be a string"))
    transport = body.get("transport")
    if transport is not None:
        if not isinstance(transport, dict):
            found.append(violation("transport", "must be an object"))
        else:
            code = transport.get("transporterCode")
            if not isinstance(code, str) or not code:
                found.append(violation("transport.transporterCode", "must not be blank"))
            tnt = transport.get("trackAndTrace")
            if tnt is not None and not isinstance(tnt, str):
                found.append(violation("transport.trackAndTrace", "must be a string"))
    return found


@bp.post("/retailer/shipments")
def create_shipment():
    state = current_app.config["BOL_STATE"]
    received_at = g.received_at
    if request.mimetype != VENDOR_JSON:
        return problem(415, f"Content-Type must be {VENDOR_JSON}.")
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        state.record_shipment(g.seller, request.get_data(as_text=True), received_at, 400)
        return problem(400, "Request body is not valid JSON.", [violation("body", "malformed JSON")])
    violations = validate(body)
    if violations:
        state.record_shipment(g.seller, body, received_at, 400)
        return problem(400, "Bad request", violations)

    with state.lock:
        process = state.start_shipment(g.seller, body)
        lost = state.faults.fail_after_commit_next > 0
        garbled = not lost and state.faults.garble_after_commit_next > 0
        if lost:
            state.faults.fail_after_commit_next -= 1
            state.stats.lost_answers += 1
        if garbled:
            state.faults.garble_after_commit_next -= 1
        state.record_shipment(g.seller, body, received_at, 500 if lost else 202, process.process_id)
        payload = serialize.process_status(process, base_url=request.host_url, iso=state.iso)
    if lost:
        # The shipment was accepted and will be processed; only the answer is lost.
        return problem(500, "Internal server error.")
    if garbled:
        return vendor_json([], 202)     # accepted all the same; the answer says nothing usable
    return vendor_json(payload, 202)
