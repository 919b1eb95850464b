"""Moving an order between its table row and the pure domain object."""

from __future__ import annotations

from plugin.domain import Order, OrderStatus
from plugin.store import models


def to_domain(row: models.Order) -> Order:
    return Order(
        status=OrderStatus(row.status),
        tracking_number=row.tracking_number,
        tracking_provider=row.tracking_provider,
        waiting_since=row.waiting_since,
        shipped_at=row.shipped_at,
        error_from=OrderStatus(row.error_from) if row.error_from else None,
        error=row.error,
        manual_reason=row.manual_reason,
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
