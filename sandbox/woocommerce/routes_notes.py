"""/wp-json/wc/v3/orders/<id>/notes: list, create, read one (notes.py)."""

from __future__ import annotations

from flask import Blueprint, g, request

from .api import get_state, json_body, require, respond
from .notes import NOTE_TYPES, add_order_note, note_to_json, notes_of
from .routes_orders import CRITICAL_ERROR
from .wpjson import ApiError, invalid_param, json_response, parse_bool

bp = Blueprint("woo_notes", __name__, url_prefix="/wp-json/wc/v3")


def _order_or_404(state, order_id: int):
    order = state.orders.get(order_id)
    if order is None:
        raise ApiError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
    return order


@bp.get("/orders/<int:order_id>/notes")
def list_notes(order_id: int):
    require("list")
    note_type = request.args.get("type", "any")
    if note_type not in NOTE_TYPES:
        raise invalid_param("type", f"type is not one of {', '.join(NOTE_TYPES)}.")
    state = get_state()
    with state.lock:
        order = _order_or_404(state, order_id)
        return respond([note_to_json(state, order, n) for n in notes_of(order, note_type)])


@bp.post("/orders/<int:order_id>/notes")
def create(order_id: int):
    require("create")
    body = json_body()
    if body.get("note") in (None, ""):
        raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
    if not isinstance(body["note"], str):
        raise invalid_param("note", "note is not of type string.")
    customer_note = parse_bool("customer_note", body.get("customer_note", False))
    added_by_user = parse_bool("added_by_user", body.get("added_by_user", False))
    state = get_state()
    key = getattr(g, "woo_key", None)
    with state.lock:
        order = _order_or_404(state, order_id)
        user = state.admin_user if key is not None and key.user_id == 1 else None
        note = add_order_note(state, order, body["note"], customer_note=customer_note,
                              added_by_user=added_by_user, user_display_name=user)
        data = note_to_json(state, order, note)
        lose_answer = state.faults.note_fail_after_commit_next > 0
        if lose_answer:
            state.faults.note_fail_after_commit_next -= 1
            state.stats["fault_fail_after_commit"] += 1
    if lose_answer:
        return json_response(CRITICAL_ERROR, 500)
    return respond(data, 201, {"Location": f"{state.site_url}/wp-json/wc/v3/orders/{order_id}/notes/{note.id}"})


@bp.get("/orders/<int:order_id>/notes/<int:note_id>")
def get(order_id: int, note_id: int):
    require("read")
    state = get_state()
    with state.lock:
        order = _order_or_404(state, order_id)
        note = next((n for n in order.notes if n.id == note_id), None)
        if note is None:
            raise ApiError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return respond(note_to_json(state, order, note))
