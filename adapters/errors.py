"""One error tree for every adapter, so the sync layer decides retry vs. needs-a-person
without knowing which marketplace or shop it talks to.

    AdapterError
     ├── AuthError            401/403: credentials wrong or revoked; a person must act
     ├── NotFound             404: the thing does not exist (yet)
     ├── Rejected(reason)     400/409/422: the other side refuses this input; retrying won't help
     ├── UnsafeURL            (adapters.netguard) a shop URL we refuse to call: SSRF guard, bad shape
     └── RetryableError       worth trying again later
          ├── RateLimited(retry_after)   429, with the server's Retry-After in seconds
          └── Transient                  5xx, connection errors: outcome may be unknown
               └── TimedOut              no answer in time: the request may *still be running*
                                         on the other side and take effect later

HTTP statuses are mapped to this tree in exactly one place: `error_for_status`.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of everything an adapter raises on purpose."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class AuthError(AdapterError):
    pass


class NotFound(AdapterError):
    pass


class Rejected(AdapterError):
    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason, status=status)
        self.reason = reason


class RetryableError(AdapterError):
    retryable = True


class RateLimited(RetryableError):
    def __init__(self, message: str, *, retry_after: float = 1.0, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Transient(RetryableError):
    """The call may or may not have taken effect: callers of non-idempotent writes must
    look the result up before sending again."""


class TimedOut(Transient):
    """The server did not answer in time. Unlike a 5xx (the server finished, one way or the
    other), the request may still be executing and commit after we gave up, so a look-up right
    now can miss it: wait out the other side's execution limit before looking up or resending."""


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def error_for_status(status: int, message: str, headers: dict | None = None) -> AdapterError | None:
    """Map an HTTP status to the error tree; None for success."""
    if status < 400:
        return None
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if status in (401, 403):
        return AuthError(message, status=status)
    if status == 404:
        return NotFound(message, status=status)
    if status == 429:
        return RateLimited(message, retry_after=parse_retry_after(headers.get("retry-after")), status=status)
    if status >= 500 or status == 408:
        return Transient(message, status=status)
    return Rejected(message, status=status)
