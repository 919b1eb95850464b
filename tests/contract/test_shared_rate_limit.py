"""Shared per-credential rate limits (adapters/ratelimit.py) against the bol sandbox's own
per-seller, per-endpoint-group buckets.

Two BolClient instances stand for two worker processes (each its own HTTP client and token)
sharing one limiter: with Redis (what the production topology uses) and in memory (the embedded
run). The sandbox's orders budget is set low; together the clients never get a 429 and never
send more than the budget allows. A 429 one of them does get (a forced burst) makes the shared
budget wait, so the other backs off too.

The Redis cases need REDIS_URL: they run on the PostgreSQL + Redis backend (`make test-pg`, which
`make test` runs when DATABASE_URL and REDIS_URL are set, as on CI); tests/conftest.py drops
REDIS_URL on the SQLite backend, where they are skipped.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from adapters.bol.client import BolClient, rate_group
from adapters.ratelimit import Budget, LocalLimiter, RedisLimiter
from tests.contract.conftest_bol import SELLER_ID, SELLER_SECRET

# The sandbox's (the server's) budget for the orders group; the clients are configured a little
# inside it, as DEFAULT_BUDGETS are inside bol's: requests sent evenly can still arrive bunched,
# and a bucket with no slack at all would answer the early one 429.
RATE, BURST = 8.0, 4
CLIENT_BUDGET = Budget(RATE * 0.95, BURST - 1)
CALLS_PER_THREAD, THREADS_PER_CLIENT = 8, 3


def _redis_limiter():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL not set: the shared (Redis) limiter is tested on the PostgreSQL + Redis run")
    limiter = RedisLimiter.from_url(url, prefix=f"test-ratelimit-{uuid.uuid4().hex[:8]}")
    try:
        limiter.try_acquire("probe", Budget(1000.0, 1000))
    except Exception as exc:   # noqa: BLE001
        pytest.skip(f"Redis at REDIS_URL not reachable: {exc}")
    return limiter


@pytest.fixture(params=["redis", "memory"])
def limiter(request):
    return _redis_limiter() if request.param == "redis" else LocalLimiter()


def _client(sandbox, limiter) -> BolClient:
    return BolClient(SELLER_ID, SELLER_SECRET, base_url=sandbox.url, limiter=limiter,
                     budgets={"orders": CLIENT_BUDGET}, retry_attempts=1)


def test_two_workers_sharing_a_limiter_stay_within_the_budget(bol_sandbox, limiter):
    bol_sandbox.state.group_rates["orders"] = (RATE, BURST)
    [order] = bol_sandbox.add_orders(1)
    workers = [_client(bol_sandbox, limiter), _client(bol_sandbox, limiter)]
    for worker in workers:
        worker.fetch_token()       # tokens are not rate limited; keep them out of the timing
    errors: list[Exception] = []

    def hammer(worker: BolClient) -> None:
        for i in range(CALLS_PER_THREAD):
            try:
                if i % 2:
                    worker.get("/retailer/orders", {"status": "OPEN"})
                else:
                    worker.get(f"/retailer/orders/{order.order_id}")
            except Exception as exc:   # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=hammer, args=(w,)) for w in workers for _ in range(THREADS_PER_CLIENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.close()

    calls = len(workers) * THREADS_PER_CLIENT * CALLS_PER_THREAD
    stats = bol_sandbox.state.stats
    assert errors == []
    assert stats.rate_limited == 0
    sent = stats.requests["GET /retailer/orders"] + stats.requests["GET /retailer/orders/<order_id>"]
    assert sent == calls
    # a token bucket never lets more through than its burst plus what refilled meanwhile
    assert calls <= BURST + RATE * elapsed + 1
    # ... and the clients did not wait much longer than the budget asks (they shared it, not split it)
    assert elapsed >= (calls - BURST) / RATE * 0.9
    assert elapsed < (calls - CLIENT_BUDGET.burst) / CLIENT_BUDGET.rate + 5


def test_a_429_makes_every_worker_sharing_the_budget_wait(bol_sandbox, limiter):
    [order] = bol_sandbox.add_orders(1)
    first, second = _client(bol_sandbox, limiter), _client(bol_sandbox, limiter)
    for worker in (first, second):
        worker.fetch_token()
    bol_sandbox.state.faults.update({"rate_limit_burst": 1, "rate_limit_retry_after": 2})
    with pytest.raises(Exception) as raised:
        first.get(f"/retailer/orders/{order.order_id}")     # retry_attempts=1: the 429 surfaces
    assert getattr(raised.value, "status", None) == 429
    started = time.monotonic()
    second.get(f"/retailer/orders/{order.order_id}")         # waits out the shared Retry-After
    assert time.monotonic() - started >= 1.5
    assert bol_sandbox.state.stats.rate_limited == 1
    # another group's budget is not blocked by the orders group's 429
    started = time.monotonic()
    second.get("/retailer/offers", media_type="application/vnd.retailer.v11+json")
    assert time.monotonic() - started < 1.0
    first.close()
    second.close()


def test_calls_are_grouped_as_bol_groups_its_limits():
    assert rate_group("/retailer/orders", "GET") == "orders"
    assert rate_group("/retailer/orders/123", "GET") == "orders"
    assert rate_group("/retailer/orders/cancellation", "PUT") == "cancellations"
    assert rate_group("/retailer/shipments", "POST") == "shipments"
    assert rate_group("/shared/process-status/1", "GET") == "process-status"
    assert rate_group("/retailer/offers/abc", "PATCH") == "offer-updates"
    assert rate_group("/retailer/offers", "GET") == "offers"
    assert rate_group("/retailer/returns", "GET") == "returns"
    assert rate_group("/retailer/returns/31000001", "PUT") == "return-updates"
    from sandbox.bol.constants import rate_group as sandbox_group
    for path, method in (("/retailer/orders", "GET"), ("/retailer/orders/cancellation", "PUT"),
                         ("/retailer/offers/x", "PATCH"), ("/retailer/returns/1", "PUT"),
                         ("/shared/process-status", "POST"), ("/retailer/shipments", "POST")):
        assert rate_group(path, method) == sandbox_group(path, method)
