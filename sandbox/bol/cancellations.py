"""PUT /retailer/orders/cancellation: a synchronous shape check, then an asynchronous process
status (event type CANCEL_ORDER, entity id the order item id).

retailer-v10.json's CancellationRequest takes exactly one order item ("the list can only take one
item") with a reasonCode from its enum; anything else is a 400 here. Whether the cancellation is
possible (known item of this seller, still open) is decided later (processing.settle_cancellation):
SUCCESS cancels the item's whole open quantity, FAILURE says why not. The same call confirms a
buyer's cancellation request (reasonCode REQUESTED_BY_CUSTOMER) or cancels on the seller's behalf.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import CANCELLATION_EVENT_TYPE, CANCELLATION_REASONS, MAX_CANCELLATION_ITEMS
from sandbox.bol.records import WriteReceived
from sandbox.bol.responses import BodyError, json_body, problem, vendor_json, violation

bp = Blueprint("bol_cancellations", __name__)


def validate(body: object) -> list[dict]:
    """Violations of CancellationRequest; empty when the body is acceptable."""
    if not isinstance(body, dict):
        return [violation("body", "must be a JSON object")]
    items = body.get("orderItems")
    if not isinstance(items, list):
        return [violation("orderItems", "must not be null")]
    if not 1 <= len(items) <= MAX_CANCELLATION_ITEMS:
        return [violation("orderItems", f"size must be between 1 and {MAX_CANCELLATION_ITEMS}")]
    found = []
    for n, entry in enumerate(items):
        if not isinstance(entry, dict):
            found.append(violation(f"orderItems[{n}]", "must be an object"))
            continue
        item_id = entry.get("orderItemId")
        if not isinstance(item_id, str) or not item_id:
            found.append(violation(f"orderItems[{n}].orderItemId", "must not be blank"))
        reason = entry.get("reasonCode")
        if reason not in CANCELLATION_REASONS:
            found.append(violation(f"orderItems[{n}].reasonCode", f"Request contains invalid value(s): '{reason}', "
                                                                  f"allowed values: {', '.join(CANCELLATION_REASONS)}."))
    return found


@bp.put("/retailer/orders/cancellation")
def cancel_order_item():
    state = current_app.config["BOL_STATE"]
    received_at = g.received_at
    try:
        body = json_body()
    except BodyError as refused:
        state.record_cancellation(WriteReceived(g.seller, refused.raw, received_at, refused.response.status_code))
        return refused.response
    violations = validate(body)
    if violations:
        state.record_cancellation(WriteReceived(g.seller, body, received_at, 400))
        return problem(400, "Bad request", violations)

    item_id = body["orderItems"][0]["orderItemId"]
    with state.lock:
        process = state.start_process(g.seller, item_id, CANCELLATION_EVENT_TYPE,
                                      f"Cancel order item {item_id}.", body)
        lost = state.faults.cancellation_fail_after_commit_next > 0
        if lost:
            state.faults.cancellation_fail_after_commit_next -= 1
            state.stats.lost_answers += 1
        state.record_cancellation(WriteReceived(g.seller, body, received_at, 500 if lost else 202,
                                                process.process_id, item_id))
        payload = serialize.process_status(process, base_url=request.host_url, iso=state.iso)
    if lost:
        # Accepted and will be processed; only the answer is lost.
        return problem(500, "Internal server error.")
    return vendor_json(payload, 202)
