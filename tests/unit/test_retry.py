from adapters.errors import AuthError, RateLimited, Rejected, TimedOut, Transient
from plugin.sync.retry import MAX_DELAY, retry_delay, should_retry


def test_only_retryable_errors_are_retried_and_429_never_uses_up_attempts():
    assert should_retry(Transient("x"), 1, 5)
    assert not should_retry(Transient("x"), 5, 5)
    assert should_retry(RateLimited("x", retry_after=2), 500, 5)
    assert not should_retry(Rejected("bad"), 1, 5)
    assert not should_retry(AuthError("no"), 1, 5)


def test_rate_limited_waits_retry_after_plus_jitter_not_exponential():
    for attempts in (1, 8, 20):
        delay = retry_delay(attempts, RateLimited("x", retry_after=2.0))
        assert 2.0 <= delay <= 3.0


def test_timeout_waits_out_the_in_flight_horizon():
    assert retry_delay(1, TimedOut("x"), in_flight_seconds=120) >= 120
    assert retry_delay(1, Transient("x"), in_flight_seconds=120) < 1


def test_backoff_grows_and_is_capped():
    assert retry_delay(1, Transient("x")) <= 0.5
    assert 2 <= retry_delay(4, Transient("x")) <= 4
    assert retry_delay(50, Transient("x")) <= MAX_DELAY
