"""Returns (retailer-v10.json): GET /retailer/returns, GET /retailer/returns/{return-id}, and
PUT /retailer/returns/{rma-id} (handle one return item: a shape check, then an asynchronous
process status with event type HANDLE_RETURN_ITEM and the rma id as entity id).

A return holds one or more return items, each with its own rma id; bol's return items name the
order and the EAN, not the order item. Handling an already handled item is allowed (it changes the
handling result); handling it again with the same result and quantity changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import HANDLING_RESULTS, MAX_QUANTITY_RETURNED, PAGE_SIZE, RETURN_EVENT_TYPE
from sandbox.bol.records import WriteReceived
from sandbox.bol.responses import BodyError, json_body, problem, vendor_json, violation

bp = Blueprint("bol_returns", __name__)


@bp.get("/retailer/returns")
def list_returns():
    """ReturnsResponse, 50 a page: handled returns newest first, unhandled ones oldest first (as
    the spec says); without `handled` every return, oldest first. With `handled`, a return shows
    only its items in that state."""
    state = current_app.config["BOL_STATE"]
    violations: list[dict] = []
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        violations.append(violation("page", "must be greater than or equal to 1"))
    handled = request.args.get("handled")
    if handled is not None and handled not in ("true", "false"):
        violations.append(violation("handled", f"Request contains invalid value(s): '{handled}'."))
    method = request.args.get("fulfilment-method")
    if method is not None and method not in ("FBR", "FBB"):
        violations.append(violation("fulfilment-method", f"Request contains invalid value(s): '{method}', "
                                                         "allowed values: FBR, FBB."))
    if violations:
        return problem(400, "Bad request", violations)

    with state.lock:
        matching = []
        for record in state.returns_of(g.seller):
            if method is not None and record.fulfilment_method != method:
                continue
            items = [i for i in record.items if handled is None or i.handled == (handled == "true")]
            if items:
                matching.append((record, serialize.reduced_return(record, items)))
    matching.sort(key=lambda pair: (pair[0].registered_at, int(pair[0].return_id)), reverse=handled == "true")
    start = (int(page) - 1) * PAGE_SIZE
    return vendor_json({"returns": [body for _, body in matching[start:start + PAGE_SIZE]]})


@bp.get("/retailer/returns/<return_id>")
def get_return(return_id: str):
    state = current_app.config["BOL_STATE"]
    with state.lock:
        record = state.get_return(g.seller, return_id)
        if record is None:
            return problem(404, f"Return with id {return_id} not found.")
        return vendor_json(serialize.full_return(record))


def validate(body: object) -> list[dict]:
    """Violations of ReturnRequest; empty when the body is acceptable."""
    if not isinstance(body, dict):
        return [violation("body", "must be a JSON object")]
    found = []
    if body.get("handlingResult") not in HANDLING_RESULTS:
        found.append(violation("handlingResult", f"Request contains invalid value(s): '{body.get('handlingResult')}', "
                                                 f"allowed values: {', '.join(HANDLING_RESULTS)}."))
    quantity = body.get("quantityReturned")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY_RETURNED:
        found.append(violation("quantityReturned", f"must be between 1 and {MAX_QUANTITY_RETURNED}"))
    return found


@bp.put("/retailer/returns/<rma_id>")
def handle_return(rma_id: str):
    state = current_app.config["BOL_STATE"]
    received_at = g.received_at
    try:
        body = json_body()
    except BodyError as refused:
        state.record_return_handling(WriteReceived(g.seller, refused.raw, received_at,
                                                   refused.response.status_code, subject=rma_id))
        return refused.response
    violations = validate(body)
    if not rma_id.isdigit():            # the path parameter is an int64
        violations.insert(0, violation("rma-id", f"Request contains invalid value(s): '{rma_id}'."))
    if violations:
        state.record_return_handling(WriteReceived(g.seller, body, received_at, 400, subject=rma_id))
        return problem(400, "Bad request", violations)

    with state.lock:
        process = state.start_process(g.seller, rma_id, RETURN_EVENT_TYPE,
                                      f"Handle the return item with rma id {rma_id}.", body)
        lost = state.faults.return_fail_after_commit_next > 0
        if lost:
            state.faults.return_fail_after_commit_next -= 1
            state.stats.lost_answers += 1
        state.record_return_handling(WriteReceived(g.seller, body, received_at, 500 if lost else 202,
                                                   process.process_id, rma_id))
        payload = serialize.process_status(process, base_url=request.host_url, iso=state.iso)
    if lost:
        return problem(500, "Internal server error.")
    return vendor_json(payload, 202)
