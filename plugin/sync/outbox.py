"""The one runner of outgoing marketplace writes: a shipment, a cancellation, a return handling.

Every such write lives the same life, and the rules of that life are here, once:

    pending ──claimed, `sending` committed──► sending ──answered──► submitted ──process final──► success
       ▲                                        │   ▲                  │                          | failed
       │                                        │   └─unknown outcome: │ (followed until final,
       └──definitive refusal (4xx, 429):────────┘     stays `sending`; │  less often the longer
          nothing of it exists, no look-up            the next attempt │  it runs)
          needed before the next send                 looks it up first┘

- `sending` is on disk before the request leaves, so after a lost answer or a killed worker the
  next attempt *looks the earlier request up* on the marketplace before it sends again, and
  follows what it finds instead of sending twice.
- A retryable failure waits (retry_delay: Retry-After after a 429, at least the in-flight horizon
  after a timeout, else backoff); a 429 never uses up attempts; after `max_attempts`, or at once
  for a failure no retry can fix, the write is given up and a person sees it (Resend, Handle
  manually).
- A marketplace that answers synchronously returns a final ProcessResult from the send: the
  runner finishes at once. One that answers with a process is followed until final.

What differs per kind is declared by the kind (an `OutboxKind`): how its row is claimed and its
request built (by the caller, which hands the runner a `Claimed`), which marketplace calls send
and look it up, and what each move means for the order (the timeline, the lines shipped or
cancelled, an order error). The kind does its moves by compare-and-set on its row's state, so a
racing worker or a merchant's click never moves a row twice; the runner never touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from adapters.errors import AdapterError, AuthError, NotFound, RateLimited, Rejected
from plugin.sync.ports import MarketplacePort, ProcessResult
from plugin.sync.retry import retry_delay, should_retry

# Answers that say for certain the marketplace did not take the request (429, 401/403, 404,
# 400/409/422, or our own mapping refusing it before it left). Any other failure of a send may
# have reached the marketplace: its outcome is unknown, and the next attempt looks it up first.
REFUSALS = (RateLimited, Rejected, AuthError, NotFound)
FIRST_FOLLOW = 0.3   # seconds: bol usually finishes a process within a second or two
MAX_FOLLOW = 30.0


@dataclass(frozen=True)
class Claimed:
    """A row its job holds (lease taken, `sending` committed): what to send, to whom."""
    request: Any
    marketplace: MarketplacePort
    attempts: int        # including this one
    may_exist: bool      # an earlier attempt may have reached the marketplace: look it up first


@dataclass(frozen=True)
class Following:
    """A submitted row: the process to ask about, and how long it has been running."""
    marketplace: MarketplacePort
    process_id: str
    elapsed: float


class OutboxKind(Protocol):
    """One kind of outgoing write, declared once (see the module doc)."""

    max_attempts: int
    # The marketplace port's calls that send the request and look an earlier send of it up (the
    # process it started, or None when there is none): e.g. "ship", "find_shipment_process".
    send_with: str
    look_up_with: str

    def submitted(self, row_id: int, claimed: Claimed, result: ProcessResult, *, found: bool) -> None:
        """sending -> submitted (compare-and-set), with the process id, on the timeline."""

    def finish(self, row_id: int, result: ProcessResult) -> str:
        """submitted | sending -> success | failed (compare-and-set) and what that means for the
        order. Returns the job's outcome; "already finished" when another worker did it."""

    def retry_later(self, row_id: int, error: AdapterError, at: datetime, delay: float, *, not_sent: bool) -> None:
        """Give the row back until `at`; when `not_sent`, nothing of it exists on the marketplace."""

    def give_up(self, row_id: int, error: AdapterError, *, not_sent: bool) -> str:
        """The write failed for good: the row and its order show the error to the merchant."""

    def release(self, row_id: int, error: str | None = None) -> None:
        """A follow that found the process still running (or could not ask) gives the row back."""

    def retry_job(self, row_id: int, delay: float) -> None: ...

    def follow_job(self, row_id: int, delay: float) -> None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...


def send(kind: OutboxKind, row_id: int, claimed: Claimed, *, clock: Clock, in_flight_seconds: float) -> str:
    """Make the claimed write true on the marketplace once: look up first when an earlier attempt
    may have reached it, else send; then finish or follow."""
    try:
        result = getattr(claimed.marketplace, kind.look_up_with)(claimed.request) if claimed.may_exist else None
    except AdapterError as exc:
        return failed(kind, row_id, exc, claimed.attempts, clock=clock, in_flight_seconds=in_flight_seconds)
    found = result is not None
    if result is None:
        try:
            result = getattr(claimed.marketplace, kind.send_with)(claimed.request)
        except AdapterError as exc:
            return failed(kind, row_id, exc, claimed.attempts, clock=clock, in_flight_seconds=in_flight_seconds,
                          not_sent=isinstance(exc, REFUSALS))
    kind.submitted(row_id, claimed, result, found=found)
    if result.done:
        return kind.finish(row_id, result)
    kind.follow_job(row_id, FIRST_FOLLOW)
    return "submitted"


def follow(kind: OutboxKind, row_id: int, following: Following) -> str:
    """One look at a submitted write's process: finish it when final, else ask again later. A
    failure to ask that is not retryable is kept on the row and raised (the job records it)."""
    try:
        result = read_process(following.marketplace, following.process_id)
    except AdapterError as exc:
        kind.release(row_id, str(exc)[:2000])
        raise
    if not result.done:
        kind.release(row_id)
        kind.follow_job(row_id, follow_delay(following.elapsed))
        return "pending"
    return kind.finish(row_id, result)


def failed(kind: OutboxKind, row_id: int, error: AdapterError, attempts: int, *, clock: Clock,
           in_flight_seconds: float, not_sent: bool = False) -> str:
    """A step of the write failed: try again later, or give up (a person looks at it)."""
    if should_retry(error, attempts, kind.max_attempts):
        delay = retry_delay(attempts, error, in_flight_seconds=in_flight_seconds)
        kind.retry_later(row_id, error, clock() + timedelta(seconds=delay), delay, not_sent=not_sent)
        kind.retry_job(row_id, delay)
        return "retry"
    return kind.give_up(row_id, error, not_sent=not_sent)


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
