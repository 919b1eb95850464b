"""Following a marketplace's asynchronous process (bol: process status) to its end: one rule for
shipments, cancellations and return handlings alike."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from adapters.errors import AdapterError
from plugin.sync.context import SyncContext
from plugin.sync.ports import MarketplacePort, ProcessResult

FIRST_FOLLOW = 0.3   # bol usually finishes a process within a second or two
MAX_FOLLOW = 30.0


def read_process(marketplace: MarketplacePort, process_id: str) -> ProcessResult:
    """The process's status now. A retryable failure to ask reads as still pending (ask again
    later); anything else is raised for the caller to record."""
    try:
        return marketplace.process_status(process_id)
    except AdapterError as exc:
        if not exc.retryable:
            raise
        return ProcessResult(process_id, "PENDING")


def follow_delay(elapsed: float) -> float:
    """When to ask again: less often the longer the process has been running."""
    return min(MAX_FOLLOW, max(FIRST_FOLLOW, elapsed / 4))


def follow_leased(ctx: SyncContext, model, row_id: int, marketplace: MarketplacePort, process_id: str,
                  elapsed: float, requeue: Callable[..., None]) -> ProcessResult | None:
    """One look at the process of a row its job holds by a lease (a cancellation, a return
    handling): the final result, or None while it runs (the lease given back and the job queued
    again later). A failure to ask that is not retryable is kept on the row and raised."""
    try:
        result = read_process(marketplace, process_id)
    except AdapterError as exc:
        _release(ctx, model, row_id, last_error=str(exc)[:2000])
        raise
    if result.done:
        return result
    _release(ctx, model, row_id)
    requeue(row_id, delay=follow_delay(elapsed))
    return None


def _release(ctx: SyncContext, model, row_id: int, **values) -> None:
    with ctx.db.session() as s:
        s.execute(update(model).where(model.id == row_id).values(lease_until=None, **values)
                  .execution_options(synchronize_session=False))
