"""Moving an order between its table rows and the pure domain object."""

from __future__ import annotations

from plugin.domain import Line, Order, OrderStatus
from plugin.store import models
from plugin.store.clock import utcnow

# A cancellation in one of these states is on its way: its lines are `cancelling`.
OPEN_CANCELLATION = ("shop_pending", "shop_sending", "pending", "sending", "submitted")


def to_domain(row: models.Order) -> Order:
    cancelling = {line_id for c in row.cancellations if c.state in OPEN_CANCELLATION for line_id in c.line_ids}
    return Order(
        status=OrderStatus(row.status),
        tracking_number=row.tracking_number,
        tracking_provider=row.tracking_provider,
        waiting_since=row.waiting_since,
        shipped_at=row.shipped_at,
        error_from=OrderStatus(row.error_from) if row.error_from else None,
        error=row.error,
        manual_reason=row.manual_reason,
        lines=[Line(line_id=line.external_line_id, quantity=line.quantity, shipped=line.shipped_quantity or 0,
                    cancelled=line.cancelled_quantity or 0,
                    cancellation_requested=bool(line.cancellation_requested),
                    cancelling=line.external_line_id in cancelling)
               for line in row.lines],
    )


def write_back(row: models.Order, order: Order) -> None:
    row.status = order.status.value
    row.tracking_number = order.tracking_number
    row.tracking_provider = order.tracking_provider
    row.waiting_since = order.waiting_since
    row.shipped_at = order.shipped_at
    row.error_from = order.error_from.value if order.error_from else None
    row.error = order.error
    row.manual_reason = order.manual_reason
    by_id = {line.line_id: line for line in order.lines}
    changed = False
    for line_row in row.lines:
        line = by_id.get(line_row.external_line_id)
        if line is None:
            continue
        new = (line.shipped, line.cancelled, line.cancellation_requested)
        if (line_row.shipped_quantity, line_row.cancelled_quantity, bool(line_row.cancellation_requested)) != new:
            line_row.shipped_quantity, line_row.cancelled_quantity, line_row.cancellation_requested = new
            changed = True
    if changed:
        # lines are part of the order: a change of theirs is a change of the (versioned) order, so
        # two workers changing one order's lines at once cannot both win
        row.updated_at = utcnow()
