"""GET /retailer/orders and GET /retailer/orders/{order-id}."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import PAGE_SIZE
from sandbox.bol.records import OrderItem
from sandbox.bol.responses import problem, vendor_json, violation

bp = Blueprint("bol_orders", __name__)

FULFILMENT_METHODS = ("FBR", "FBB", "ALL")
STATUSES = ("OPEN", "SHIPPED", "ALL")


def _enum(name: str, default: str, allowed: tuple[str, ...], violations: list[dict]) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        violations.append(violation(name, f"Request contains invalid value(s): '{value}', "
                                          f"allowed values: {', '.join(allowed)}."))
    return value


def _int(name: str, default: int | None, violations: list[dict], *, minimum: int | None = None,
         maximum: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        violations.append(violation(name, f"Request contains invalid value(s): '{raw}'."))
        return default
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        violations.append(violation(name, f"must be between {minimum} and {maximum}"))
    return value


@bp.get("/retailer/orders")
def list_orders():
    state = current_app.config["BOL_STATE"]
    violations: list[dict] = []
    page = _int("page", 1, violations, minimum=1)
    method = _enum("fulfilment-method", "FBR", FULFILMENT_METHODS, violations)
    status = _enum("status", "OPEN", STATUSES, violations)
    interval = _int("change-interval-minute", None, violations, minimum=1, maximum=60)
    change_date = request.args.get("latest-change-date")
    if change_date is not None:
        try:
            change_date = date.fromisoformat(change_date)
        except ValueError:
            violations.append(violation("latest-change-date", "must be a date in yyyy-MM-dd format"))
    if violations:
        return problem(400, "Bad request", violations)

    now = state.now()
    with state.lock:
        matching = []
        for order in state.orders_for(g.seller):
            items = [i for i in order.items
                     if _matches(i, method, status)
                     and (interval is None or i.latest_changed >= now - timedelta(minutes=interval))
                     and (change_date is None or i.latest_changed.date() == change_date)]
            if items:
                matching.append(serialize.reduced_order(order, items))
    start = (page - 1) * PAGE_SIZE
    # ReducedOrders marks `orders` as required, so an empty page is {"orders": []} here (the live
    # API has been seen answering {} instead; the adapter accepts both).
    return vendor_json({"orders": matching[start:start + PAGE_SIZE]})


def _matches(item: OrderItem, method: str, status: str) -> bool:
    if method != "ALL" and item.fulfilment_method != method:
        return False
    if status == "OPEN":
        return item.open_quantity > 0
    if status == "SHIPPED":
        return item.quantity_shipped > 0
    return True


@bp.get("/retailer/orders/<order_id>")
def get_order(order_id: str):
    state = current_app.config["BOL_STATE"]
    with state.lock:
        order = state.get_order(g.seller, order_id)
        if order is None:
            return problem(404, f"Order for order id {order_id} not found.")
        return vendor_json(serialize.order(order))
