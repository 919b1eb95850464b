"""When to try again after a retryable failure."""

from __future__ import annotations

import random

from adapters.errors import AdapterError, RateLimited

MAX_DELAY = 300.0


def retry_delay(attempts: int, error: AdapterError | None = None) -> float:
    """Exponential backoff with jitter, at least the server's Retry-After, at most 5 minutes."""
    delay = min(MAX_DELAY, 0.5 * (2 ** max(0, attempts - 1)))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if isinstance(error, RateLimited):
        delay = max(delay, error.retry_after)
    return delay
