"""When to try again after a failure, and how soon. One place for create_in_shop and
push_shipment alike."""

from __future__ import annotations

import random

from adapters.errors import AdapterError, RateLimited, TimedOut

MAX_DELAY = 300.0


def should_retry(error: AdapterError, attempts: int, max_attempts: int) -> bool:
    """Retryable errors are retried; a 429 never uses up attempts (being throttled is not failing,
    and a long rate-limit spell must not turn orders into errors)."""
    if not error.retryable:
        return False
    return isinstance(error, RateLimited) or attempts < max_attempts


def retry_delay(attempts: int, error: AdapterError | None = None, *, in_flight_seconds: float = 0.0) -> float:
    """Seconds to wait: the server's Retry-After (plus jitter, so throttled workers do not all come
    back at once) after a 429; after a timeout, at least the in-flight horizon (the request may still
    commit); otherwise exponential backoff with jitter, at most 5 minutes."""
    if isinstance(error, RateLimited):
        return error.retry_after + random.uniform(0, max(0.1, error.retry_after / 2))
    delay = min(MAX_DELAY, 0.5 * (2 ** max(0, attempts - 1)))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if isinstance(error, TimedOut):
        delay = max(delay, in_flight_seconds)
    return delay


MIN_PERIODIC_RETRY = 5.0


def periodic_retry_delay(failing_for: float, error: AdapterError, *, interval: float) -> float:
    """How soon a periodic read (a stock reconcile, a returns poll) that just failed runs again.
    It keeps no attempt counter, so the backoff grows with how long it has been failing: about as
    long again as it has failed so far (so it doubles), jittered, from a few seconds up to the job's
    own interval. A 429 waits for Retry-After (plus jitter). Reads change nothing on the other
    side, so no in-flight horizon applies."""
    if isinstance(error, RateLimited):
        return error.retry_after + random.uniform(0, max(0.1, error.retry_after / 2))
    delay = min(float(interval), max(MIN_PERIODIC_RETRY, failing_for))
    return delay / 2 + random.uniform(0, delay / 2)
