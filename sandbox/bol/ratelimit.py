"""A token bucket, the shape of bol's published per-endpoint-group rate limits."""

from __future__ import annotations

import math


class TokenBucket:
    """`rate` tokens per second refill a bucket of at most `burst` tokens; a call takes one.

    Not locked by itself: BolState calls it under its own lock.
    """

    def __init__(self, rate: float, burst: int, now: float):
        self.rate = float(rate)
        self.burst = int(burst)
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> int:
        """Take a token. Returns 0 when allowed, else the whole seconds to wait (for Retry-After)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        if self.rate <= 0:
            return 60
        # Retry-After is whole seconds (RFC 9110 delay-seconds); round up so a client that
        # waits exactly that long finds a token.
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))
