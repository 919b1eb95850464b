"""Read-side queries behind the merchant's orders view: tabs with counts, a page of orders,
one order with its lines, shipments and timeline. Every query takes the shop id: nothing here can
return another shop's rows.

An order may have several shipments (partial shipments): lists show one state per order, its
least advanced shipment's (`_shipment_state`), so an order is listed once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from plugin.domain.order import TRASHED_IN_SHOP
from plugin.store import models

OPEN_SHIPMENT = ("pending", "sending", "submitted")
# "test": the shop's test mode finished it without telling the marketplace.
DONE_SHIPMENT = ("success", "test")

# Tab -> label, as merchants know them from Channable. "Pending shipment": completed in the shop
# and on its way to the marketplace; "Shipped": the marketplace confirmed it. A shipped order
# without a shipment row yet (it is written in the same transaction) cannot exist.
TABS: dict[str, str] = {
    "all": "All",
    "errors": "Errors",
    "not_shipped": "Not shipped",
    "waiting": "Waiting",
    "pending_shipment": "Pending shipment",
    "shipped": "Shipped",
    "pending_cancellation": "Pending cancellation",
    "cancelled": "Cancelled",
    "manual": "Handled manually",
}
# An order's own badge where it differs from its tab's name. "trashed": an error of its own, the
# order moved to the Trash in the shop (listed with the errors: the merchant decides).
STATUS_LABELS = {"errors": "Error", "trashed": "Trashed in shop"}
PAGE_SIZE = 25


# Least advanced first: the state an order with several shipments is listed with.
_STATE_RANK = {"failed": 0, "pending": 1, "sending": 2, "submitted": 3, "manual": 4, "test": 5, "success": 6}


def _shipment_state():
    """The order's least advanced shipment state (None without shipments), as a column."""
    sh = models.Shipment
    rank = case(*((sh.state == state, n) for state, n in _STATE_RANK.items()), else_=len(_STATE_RANK))
    return (select(sh.state).where(sh.order_id == models.Order.id).order_by(rank, sh.id).limit(1)
            .correlate(models.Order).scalar_subquery())


def _tab_filter(tab: str):
    o, sh = models.Order, _shipment_state()
    return {
        "all": None,
        "errors": o.status == "error",
        "not_shipped": o.status == "not_shipped",
        "waiting": o.status == "waiting",
        "pending_shipment": and_(o.status == "shipped", or_(sh.is_(None), sh.in_(OPEN_SHIPMENT))),
        "shipped": and_(o.status == "shipped", sh.in_(DONE_SHIPMENT)),
        # Set by shop-side cancellations once they are pushed to the marketplace (stock and
        # cancellation sync); until then no order is in it.
        "pending_cancellation": o.status == "pending_cancellation",
        "cancelled": o.status == "cancelled",
        "manual": o.status == "manual",
    }.get(tab, false())


def _base(shop_id: int):
    return (select(models.Order)
            .outerjoin(models.Binding, models.Binding.order_id == models.Order.id)
            .where(models.Order.shop_id == shop_id))


def _search(stmt, q: str):
    q = (q or "").strip()[:100]
    if not q:
        return stmt
    like = f"%{q}%"
    return stmt.where(or_(models.Order.external_id.ilike(like), models.Binding.shop_order_number.ilike(like)))


def tab_counts(session: Session, shop_id: int, q: str = "") -> dict[str, int]:
    """Counts per tab in one grouped query."""
    o = models.Order
    sh = _shipment_state().label("shipment_state")
    inner = _search(select(o.status.label("status"), sh)
                    .select_from(o)
                    .outerjoin(models.Binding, models.Binding.order_id == o.id)
                    .where(o.shop_id == shop_id), q).subquery()
    stmt = select(inner.c.status, inner.c.shipment_state, func.count()).group_by(inner.c.status,
                                                                                 inner.c.shipment_state)
    counts = dict.fromkeys(TABS, 0)
    for status, shipment_state, n in session.execute(stmt):
        counts["all"] += n
        if status == "shipped":
            counts["shipped" if shipment_state in DONE_SHIPMENT else "pending_shipment"] += n
        elif status == "error":
            counts["errors"] += n
        elif status in counts:
            counts[status] += n
    return counts


@dataclass
class OrderRow:
    id: int
    external_id: str
    marketplace: str
    connection: str
    status: str
    shop_order_number: str | None
    shop_order_id: int | None
    shipment_state: str | None
    tracking: str | None
    error: str | None
    placed_at: object
    updated_at: object


@dataclass
class Page:
    rows: list[OrderRow]
    page: int
    pages: int
    total: int


def page_of_orders(session: Session, shop_id: int, tab: str, q: str = "", page: int = 1) -> Page:
    where = _tab_filter(tab)
    stmt = _search(_base(shop_id), q)
    if where is not None:
        stmt = stmt.where(where)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(models.Order.id).subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.execute(
        stmt.with_only_columns(models.Order, models.Binding.shop_order_number, models.Binding.shop_order_id,
                               _shipment_state(), models.Connection.name, models.Connection.marketplace)
        .join(models.Connection, models.Connection.id == models.Order.connection_id)
        .order_by(models.Order.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    out = [OrderRow(id=o.id, external_id=o.external_id, marketplace=marketplace, connection=conn_name,
                    status=display_status(o.status, shipment_state, o.error), shop_order_number=number,
                    shop_order_id=shop_order_id, shipment_state=shipment_state,
                    tracking=o.tracking_number, error=o.error, placed_at=o.placed_at, updated_at=o.updated_at)
           for o, number, shop_order_id, shipment_state, conn_name, marketplace in rows]
    return Page(out, page, pages, total)


def display_status(status: str, shipment_state: str | None, error: str | None = None) -> str:
    """The tab an order is listed under (shipped splits into pending shipment / shipped), or
    "trashed" for an error that is the shop's Trash (listed under Errors)."""
    if status == "shipped":
        return "shipped" if shipment_state in DONE_SHIPMENT else "pending_shipment"
    if status == "error":
        return "trashed" if (error or "").startswith(TRASHED_IN_SHOP) else "errors"
    return status


@dataclass
class OrderDetail:
    order: models.Order
    connection: models.Connection
    binding: models.Binding | None
    shipment: models.Shipment | None        # the least advanced one (what the order waits for)
    shipments: list[models.Shipment]        # every shipment, oldest first, each with its own T&T
    lines: list[models.OrderLine]
    timeline: list[models.TimelineEntry]
    status: str
    # a cancellation or a return of this order waits on a retry or failed: Resend applies to it
    other_work_waiting: bool = False


def order_detail(session: Session, shop_id: int, order_id: int) -> OrderDetail | None:
    order = session.scalar(select(models.Order).where(models.Order.id == order_id, models.Order.shop_id == shop_id))
    if order is None:
        return None
    shipments = list(session.scalars(select(models.Shipment).where(models.Shipment.order_id == order.id)
                                     .order_by(models.Shipment.id)))
    shipment = min(shipments, key=lambda sh: _STATE_RANK.get(sh.state, len(_STATE_RANK)), default=None)
    binding = session.scalar(select(models.Binding).where(models.Binding.order_id == order.id))
    timeline = list(session.scalars(select(models.TimelineEntry).where(models.TimelineEntry.order_id == order.id)
                                    .order_by(models.TimelineEntry.at.desc(), models.TimelineEntry.id.desc())))
    return OrderDetail(order=order, connection=session.get(models.Connection, order.connection_id), binding=binding,
                       shipment=shipment, shipments=shipments, lines=list(order.lines), timeline=timeline,
                       status=display_status(order.status, shipment.state if shipment else None, order.error),
                       other_work_waiting=_other_work_waiting(session, order.id))


def _other_work_waiting(session: Session, order_id: int) -> bool:
    """What plugin/sync/resend.py also brings forward: an open cancellation, or a return whose
    note, refund or handling failed or waits on its next attempt."""
    cancellation = session.scalar(select(models.Cancellation.id).where(
        models.Cancellation.order_id == order_id,
        models.Cancellation.state.in_(("shop_pending", "shop_sending", "pending", "sending"))).limit(1))
    if cancellation is not None:
        return True
    returned = session.scalar(select(models.Return.id).where(
        models.Return.order_id == order_id,
        or_(models.Return.handle_state.in_(("failed", "pending", "sending")),
            models.Return.shop_state.in_(("error", "pending", "sending")))).limit(1))
    return returned is not None


def line_state(line: models.OrderLine, shipments: list[models.Shipment]) -> str:
    """A line's own state for the order page: shipped, cancelled, being shipped (in a live
    shipment), partly shipped, or open."""
    open_quantity = line.quantity - (line.shipped_quantity or 0) - (line.cancelled_quantity or 0)
    if open_quantity <= 0:
        return "shipped" if line.shipped_quantity else "cancelled"
    if any(line.external_line_id in (sh.line_ids or ()) for sh in shipments if sh.state in OPEN_SHIPMENT + ("test",)):
        return "shipping"
    return "partly shipped" if line.shipped_quantity else "open"
