"""The Shared API's process status endpoints (shared-v10.json)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import EVENT_TYPES, PAGE_SIZE
from sandbox.bol.responses import problem, vendor_json, violation

bp = Blueprint("bol_process_status", __name__)


def _render(state, process) -> dict:
    return serialize.process_status(process, base_url=request.host_url, iso=state.iso)


@bp.get("/shared/process-status/<process_id>")
def get_process_status(process_id: str):
    state = current_app.config["BOL_STATE"]
    with state.lock:
        process = state.get_process(g.seller, process_id)
        if process is None:
            return problem(404, f"Process status with id {process_id} not found.")
        return vendor_json(_render(state, process))


@bp.get("/shared/process-status")
def list_process_statuses():
    """By entity id and event type, newest first, 50 per page (ProcessStatusResponse)."""
    state = current_app.config["BOL_STATE"]
    entity_id = request.args.get("entity-id")
    event_type = request.args.get("event-type")
    violations = []
    if not entity_id:
        violations.append(violation("entity-id", "must not be null"))
    if not event_type:
        violations.append(violation("event-type", "must not be null"))
    elif event_type not in EVENT_TYPES:
        violations.append(violation("event-type", f"Request contains invalid value(s): '{event_type}'."))
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        violations.append(violation("page", "must be greater than or equal to 1"))
    if violations:
        return problem(400, "Bad request", violations)
    start = (int(page) - 1) * PAGE_SIZE
    with state.lock:
        found = state.processes_for(g.seller, entity_id, event_type)[start:start + PAGE_SIZE]
        return vendor_json({"processStatuses": [_render(state, p) for p in found]})


@bp.post("/shared/process-status")
def bulk_process_statuses():
    """BulkProcessStatusRequest: up to 1000 ids; unknown ids are simply left out."""
    state = current_app.config["BOL_STATE"]
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        body = None
    queries = body.get("processStatusQueries") if isinstance(body, dict) else None
    if not isinstance(queries, list) or not 1 <= len(queries) <= 1000:
        return problem(400, "Bad request", [violation("processStatusQueries", "size must be between 1 and 1000")])
    ids = [q.get("processStatusId") for q in queries if isinstance(q, dict)]
    with state.lock:
        found = [p for p in (state.get_process(g.seller, str(i)) for i in ids) if p is not None]
        return vendor_json({"processStatuses": [_render(state, p) for p in found]})
