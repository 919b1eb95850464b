"""Following a marketplace's asynchronous process (bol: process status) to its end: one rule for
shipments, cancellations and return handlings alike."""

from __future__ import annotations

from adapters.errors import AdapterError
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
