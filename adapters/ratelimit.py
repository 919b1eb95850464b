"""Client-side rate limits per credential and endpoint group, so every process calling a
marketplace with one seller account together stays inside that account's budget.

A key names one budget, e.g. ``bol:<client_id>:orders``. Two implementations:

- ``LocalLimiter``: token buckets in this process (the embedded run: one worker process).
- ``RedisLimiter``: the same token bucket kept in Redis and updated by one Lua script (atomic,
  on Redis' own clock), so any number of workers on any number of hosts share it.

Both honour the marketplace's own word: ``penalize(key, seconds)`` after a 429 + Retry-After
blocks the budget for everyone until then, so the other workers back off too instead of each
discovering the 429 for itself.

Adapters get a limiter passed in (plugin/runtime.py builds it from the settings); this module
imports neither Flask nor the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.errors import RateLimited


@dataclass(frozen=True)
class Budget:
    rate: float      # tokens per second
    burst: int       # bucket size


class RateLimiter(Protocol):
    def try_acquire(self, key: str, budget: Budget) -> float:
        """Take a token now: 0.0 when taken, else the seconds until one may be there."""

    def penalize(self, key: str, seconds: float) -> None:
        """The server said 429 + Retry-After: nobody takes from this budget for `seconds`."""


def acquire(limiter: RateLimiter, key: str, budget: Budget, *, max_wait: float = 15.0,
            sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
    """Block until a token is taken. A budget that would keep the caller waiting longer than
    `max_wait` raises RateLimited(retry_after) instead, so a job gives its thread back and comes
    back later (the queue and the sync layer's retry already handle RateLimited)."""
    deadline = clock() + max_wait
    while True:
        wait = limiter.try_acquire(key, budget)
        if wait <= 0:
            return
        left = deadline - clock()
        if wait > left:
            raise RateLimited(f"client-side rate limit {key}: next call in {wait:.2f} s", retry_after=wait,
                              status=None)
        sleep(wait)


class LocalLimiter:
    """Token buckets in this process, thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}   # key -> (tokens, updated)
        self._blocked: dict[str, float] = {}                  # key -> until

    def try_acquire(self, key: str, budget: Budget) -> float:
        with self._lock:
            now = self._clock()
            until = self._blocked.get(key, 0.0)
            if until > now:
                return until - now
            tokens, updated = self._buckets.get(key, (float(budget.burst), now))
            tokens = min(float(budget.burst), tokens + max(0.0, now - updated) * budget.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / budget.rate if budget.rate > 0 else 60.0

    def penalize(self, key: str, seconds: float) -> None:
        with self._lock:
            now = self._clock()
            self._blocked[key] = max(self._blocked.get(key, 0.0), now + max(0.0, seconds))
            self._buckets[key] = (0.0, now + max(0.0, seconds))   # the server's bucket is empty too


# KEYS[1] the bucket (hash tokens, ts), KEYS[2] the block (until, seconds on Redis' clock).
# ARGV: rate, burst. Returns the wait in seconds as a string (Lua numbers become integers).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return tostring(blocked - now) end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  if rate > 0 then wait = (1 - tokens) / rate else wait = 60 end
end
if now > ts then ts = now end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
local ttl = 60
if rate > 0 then ttl = math.ceil(burst / rate) + 60 end
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(wait)
"""

# KEYS[1] the bucket, KEYS[2] the block; ARGV: seconds. Blocks until now + seconds (never
# shortens a longer block) and empties the bucket from then on.
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untill = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if untill > blocked then
  redis.call('SET', KEYS[2], tostring(untill), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
redis.call('HSET', KEYS[1], 'tokens', '0', 'ts', tostring(untill))
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 120)
return 1
"""


class RedisLimiter:
    """The token bucket in Redis: every process using the same Redis and prefix shares it."""

    def __init__(self, client, prefix: str = "orderbridge"):
        self._redis = client
        self._prefix = prefix.rstrip(":")
        self._take = client.register_script(_TAKE)
        self._penalize = client.register_script(_PENALIZE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "orderbridge") -> RedisLimiter:
        import redis
        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                        health_check_interval=30), prefix)

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:ratelimit:{{{key}}}"   # one hash slot per budget (Redis Cluster)
        return [base + ":bucket", base + ":blocked"]

    def try_acquire(self, key: str, budget: Budget) -> float:
        return float(self._take(keys=self._keys(key), args=[repr(float(budget.rate)), int(budget.burst)]))

    def penalize(self, key: str, seconds: float) -> None:
        self._penalize(keys=self._keys(key), args=[repr(max(0.0, float(seconds)))])


def make_limiter(redis_url: str | None, prefix: str = "orderbridge") -> RateLimiter:
    """Redis-backed when there is a Redis (the production topology), else in-process."""
    return RedisLimiter.from_url(redis_url, prefix) if redis_url else LocalLimiter()
