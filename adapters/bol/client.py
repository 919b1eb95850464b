"""Raw bol.com Retailer API v10 client: token handling, media types, safe retries.

Knows HTTP and bol's conventions, nothing about orders or shipments (that is mapping.py and
adapter.py). Error mapping and retry policy come from adapters.errors / adapters.http so every
adapter fails the same way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from adapters.errors import AdapterError, AuthError, RateLimited, Transient
from adapters.http import DEFAULT_TIMEOUT, make_client, send, with_retries
from adapters.ratelimit import Budget, RateLimiter, acquire

log = logging.getLogger(__name__)

VENDOR_JSON = "application/vnd.retailer.v10+json"
# The Offers API is at v11 (offers-v11.json); v10's offer endpoints, the stock PUT included, are
# deprecated. Calls under /retailer/offers ask for and send this media type instead.
VENDOR_JSON_V11 = "application/vnd.retailer.v11+json"
DEFAULT_BASE_URL = "https://api.bol.com"
DEFAULT_TOKEN_URL = "https://login.bol.com/token"

# Refresh this long before bol says the token expires (capped at 10 % of its lifetime so a very
# short-lived token is still used at all): a token that expires in flight costs a 401 round trip.
TOKEN_MARGIN_SECONDS = 30.0

# bol limits each seller account per endpoint group (orders, shipments, process status, offers,
# returns, ... each has its own bucket, answered with 429 + Retry-After when empty). The client
# keeps every process's calls of one account inside these together (adapters/ratelimit.py):
# the sandbox's default bucket (25/s, burst 50) with a little burst left for network jitter.
# ORDERBRIDGE_BOL_RATE_LIMITS (plugin/config.py) overrides them per group.
RATE_GROUPS = ("orders", "cancellations", "shipments", "process-status", "offers", "offer-updates",
               "returns", "return-updates", "other")
DEFAULT_BUDGET = Budget(rate=25.0, burst=45)
DEFAULT_BUDGETS = dict.fromkeys(RATE_GROUPS, DEFAULT_BUDGET)


def rate_group(path: str, method: str = "GET") -> str:
    """The endpoint group a call counts against (bol's rate-limit groups)."""
    path = "/" + path.split("?", 1)[0].lstrip("/")
    if path == "/retailer/orders/cancellation":
        return "cancellations"
    if path.startswith("/retailer/orders"):
        return "orders"
    if path.startswith("/retailer/shipments"):
        return "shipments"
    if path.startswith("/shared/process-status"):
        return "process-status"
    if path == "/retailer/offers" or path.startswith("/retailer/offers/"):
        return "offers" if method == "GET" else "offer-updates"
    if path == "/retailer/returns" or path.startswith("/retailer/returns/"):
        return "returns" if method == "GET" else "return-updates"
    return "other"


class _Secret:
    """Holds a credential without ever printing it (repr, str, f-strings, tracebacks' locals)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


@dataclass(frozen=True)
class _Token:
    value: _Secret
    refresh_at: float        # on the client's clock


class BolClient:
    """One seller account's connection to bol. Thread-safe: the token cache is locked."""

    def __init__(self, client_id: str, client_secret: str, base_url: str = DEFAULT_BASE_URL,
                 token_url: str | None = None, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None, *, retry_attempts: int = 4,
                 retry_base: float = 0.2, retry_cap: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 limiter: RateLimiter | None = None, budgets: dict[str, Budget] | None = None,
                 max_limit_wait: float = 15.0):
        self.client_id = client_id
        # Shared with every other process using this seller account (None: no client-side limit,
        # the server's 429s alone pace the calls).
        self._limiter = limiter
        self._budgets = {**DEFAULT_BUDGETS, **(budgets or {})}
        self._max_limit_wait = max_limit_wait
        self._sleep = sleep
        self._secret = _Secret(client_secret)
        self.base_url = base_url.rstrip("/")
        # Production logs in at login.bol.com; a sandbox serves /token next to the API.
        if token_url is None:
            token_url = DEFAULT_TOKEN_URL if self.base_url == DEFAULT_BASE_URL else f"{self.base_url}/token"
        self.token_url = token_url
        self._retry = {"attempts": retry_attempts, "base": retry_base, "cap": retry_cap, "sleep": sleep}
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._http = make_client(self.base_url, timeout=timeout, transport=transport,
                                 headers={"Accept": VENDOR_JSON, "User-Agent": "orderbridge"})

    def __repr__(self) -> str:
        return f"BolClient(client_id={self.client_id!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ public calls
    def get(self, path: str, params: dict | None = None, *, media_type: str = VENDOR_JSON) -> dict:
        """A safe read: retried with jittered backoff on 429 (after Retry-After), 5xx and timeouts.
        A list value in `params` is sent as the parameter repeated (OpenAPI's form/explode)."""
        headers = None if media_type == VENDOR_JSON else {"Accept": media_type}
        response = with_retries(lambda: self._authed("GET", path, params=params, headers=headers), **self._retry)
        return _json(response)

    def post(self, path: str, body: dict) -> dict:
        """A write. Never retried here: after a Transient the caller must find out whether the
        first attempt took effect (bol: the process status) before sending again."""
        return self._write("POST", path, body, VENDOR_JSON)

    def put(self, path: str, body: dict) -> dict:
        """A write, like post (never retried here)."""
        return self._write("PUT", path, body, VENDOR_JSON)

    def patch(self, path: str, body: dict, *, media_type: str = VENDOR_JSON) -> dict:
        """A write, like post (never retried here); {} for a 204."""
        return self._write("PATCH", path, body, media_type)

    def fetch_token(self) -> None:
        """Get a fresh token now (also the cheapest proof that the credentials are right)."""
        self._bearer(force=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BolClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _write(self, method: str, path: str, body: dict, media_type: str) -> dict:
        headers = {"Content-Type": media_type}
        if media_type != VENDOR_JSON:
            headers["Accept"] = media_type
        response = self._authed(method, path, content=json.dumps(body).encode(), headers=headers)
        return _json(response)

    def _authed(self, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        """One call with a bearer token; on 401 (token expired or revoked early) fetch a new
        token and try exactly once more. A 401 means bol did not process the call, so repeating
        even a POST is safe."""
        token = self._bearer()
        try:
            response = self._limited(method, path, headers={**(headers or {}), **_auth(token)}, **kwargs)
        except AuthError as exc:
            if exc.status != 401:
                raise
            log.info("bol %s %s: token refused, fetching a new one", method, path)
            self._drop(token)
            token = self._bearer()
            response = self._limited(method, path, headers={**(headers or {}), **_auth(token)}, **kwargs)
        log.debug("bol %s %s -> %s", method, path, response.status_code)
        return response

    def _limited(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One call inside the seller account's budget for its endpoint group. A 429 blocks
        that budget for Retry-After for every process sharing the limiter, then is raised."""
        if self._limiter is None:
            return send(self._http, method, path, **kwargs)
        group = rate_group(path, method)
        key = f"bol:{self.client_id}:{group}"
        try:
            acquire(self._limiter, key, self._budgets.get(group, DEFAULT_BUDGET), max_wait=self._max_limit_wait,
                    sleep=self._sleep)
        except RateLimited:
            raise
        except Exception as exc:   # noqa: BLE001 - the limiter's store is down: bol's 429s still pace us
            log.warning("rate limiter unavailable (%s); calling bol unthrottled", exc.__class__.__name__)
        try:
            return send(self._http, method, path, **kwargs)
        except RateLimited as exc:
            try:
                self._limiter.penalize(key, exc.retry_after)
            except Exception as limiter_exc:   # noqa: BLE001
                log.warning("rate limiter unavailable (%s)", limiter_exc.__class__.__name__)
            raise

    def _bearer(self, force: bool = False) -> _Secret:
        with self._token_lock:
            if force or self._token is None or self._clock() >= self._token.refresh_at:
                # One attempt: GETs are retried as a whole by with_retries (nesting retries here
                # would multiply them), and a failed token fetch means a POST was never sent.
                self._token = self._request_token()
            return self._token.value

    def _drop(self, token: _Secret) -> None:
        with self._token_lock:
            # Only if no other thread already replaced it.
            if self._token is not None and self._token.value is token:
                self._token = None

    def _request_token(self) -> _Token:
        started = self._clock()
        response = send(self._http, "POST", self.token_url, params={"grant_type": "client_credentials"},
                        auth=(self.client_id, self._secret.reveal()), headers={"Accept": "application/json"})
        try:
            payload = response.json()
            value = payload["access_token"]
            expires_in = float(payload.get("expires_in", 299))
        except (ValueError, KeyError, TypeError):
            # `from None`: the chained exception could carry the response body (the token).
            raise AdapterError(f"bol token endpoint answered without a usable token ({response.status_code})",
                               status=response.status_code) from None
        margin = min(TOKEN_MARGIN_SECONDS, expires_in * 0.1)
        log.debug("bol token for %s valid %.0f s", self.client_id, expires_in)
        return _Token(_Secret(value), started + expires_in - margin)


def _auth(token: _Secret) -> dict:
    return {"Authorization": f"Bearer {token.reveal()}"}


def _json(response: httpx.Response) -> dict:
    if not response.content:
        return {}
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    try:
        payload = response.json()
    except ValueError:
        # Typically a proxy's HTML page: worth another try later.
        raise Transient(f"{where}: body is not JSON", status=response.status_code) from None
    if not isinstance(payload, dict):
        raise AdapterError(f"{where}: expected a JSON object", status=response.status_code)
    return payload
