"""A thin wrapper over the `woocommerce` package's API client that speaks our error tree.

- Auth is the package's: Basic auth over https (or `consumer_key`/`consumer_secret` query params
  with query_string_auth=True), OAuth 1.0a signed query params over plain http. WooCommerce
  itself only accepts OAuth over http, so an http shop URL (a sandbox, a dev shop) just works.
- Every HTTP status goes through adapters.errors.error_for_status; timeouts and connection
  failures become Transient (the request may still have reached the shop). The error carries
  `wc_code`, the WP_Error code of a WordPress JSON answer (None for an HTML error page).
- Redirects are not followed: requests would turn a redirected POST into a GET and we would read
  an order list as "created". A 3xx is an AdapterError telling a person to fix the shop URL.
- Every request first passes adapters.netguard.check_url (SSRF guard): unless
  `allow_private_hosts` (dev/sandbox only), a shop URL whose host is or resolves to a loopback,
  private, link-local or otherwise non-public address raises UnsafeURL and nothing is sent.
- Secrets never reach messages or reprs: requests puts the full URL (query string included,
  which carries the secret or the OAuth signature) into its exception texts, so those are scrubbed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import requests
from woocommerce import API

from adapters.errors import AdapterError, TimedOut, Transient, error_for_status
from adapters.netguard import check_url

USER_AGENT = "orderbridge (WooCommerce-Python-REST-API)"
_QUERY = re.compile(r"\?[^\s'\")]*")


class _RedactQueryCredentials(logging.Filter):
    """urllib3 logs every request URL at DEBUG, and over http the `woocommerce` client signs with
    OAuth 1.0a in the query string (`oauth_consumer_key=...`): scrub it from those records."""

    PATTERN = re.compile(r"((?:oauth_)?consumer_(?:key|secret)=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "consumer_" in message:
            record.msg, record.args = self.PATTERN.sub(r"\1[redacted]", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryCredentials())


@dataclass(frozen=True)
class WooResponse:
    status: int
    headers: dict[str, str] = field(repr=False)
    data: Any = field(repr=False)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


class WooClient:
    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *, timeout: float = 10.0,
                 verify_ssl: bool = True, query_string_auth: bool = False, allow_private_hosts: bool = False):
        self.url = url.rstrip("/")
        self.allow_private_hosts = allow_private_hosts
        self._secrets = tuple(s for s in (consumer_key, consumer_secret) if s)
        self._api = API(url=self.url, consumer_key=consumer_key, consumer_secret=consumer_secret,
                        version="wc/v3", timeout=timeout, verify_ssl=verify_ssl,
                        query_string_auth=query_string_auth, user_agent=USER_AGENT)

    def __repr__(self) -> str:
        return f"WooClient(url={self.url!r})"

    def get(self, endpoint: str, params: dict | None = None) -> WooResponse:
        return self.request("GET", endpoint, params=params)

    def post(self, endpoint: str, data: dict) -> WooResponse:
        return self.request("POST", endpoint, data=data)

    def put(self, endpoint: str, data: dict) -> WooResponse:
        return self.request("PUT", endpoint, data=data)

    def delete(self, endpoint: str, params: dict | None = None) -> WooResponse:
        return self.request("DELETE", endpoint, params=params)

    def request(self, method: str, endpoint: str, *, params: dict | None = None,
                data: dict | None = None) -> WooResponse:
        what = f"WooCommerce {method} {endpoint}"
        # The same SSRF check before every call (DNS may change between calls; verdicts are cached briefly).
        check_url(self.url, allow_private=self.allow_private_hosts)
        # The OAuth signer renders booleans as "1"/"" while the URL says "True": send strings.
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        call = {"GET": self._api.get, "DELETE": self._api.delete, "OPTIONS": self._api.options}.get(method)
        try:
            if call is not None:
                response = call(endpoint, params=query, allow_redirects=False)
            else:
                send = self._api.post if method == "POST" else self._api.put
                response = send(endpoint, data, params=query, allow_redirects=False)
        except requests.ConnectTimeout as exc:   # never reached the shop: nothing in flight
            raise Transient(f"{what}: timed out ({exc.__class__.__name__})") from None
        except requests.Timeout as exc:
            raise TimedOut(f"{what}: timed out ({exc.__class__.__name__})") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise AdapterError(f"{what}: bad shop URL ({self._scrub(str(exc))})") from None
        except requests.RequestException as exc:
            # ConnectionError, ChunkedEncodingError, ...: the request may or may not have landed.
            raise Transient(f"{what}: {exc.__class__.__name__}: {self._scrub(str(exc))}") from None
        return self._check(what, response)

    def _check(self, what: str, response: requests.Response) -> WooResponse:
        headers = {k.lower(): v for k, v in response.headers.items()}
        status = response.status_code
        if 300 <= status < 400:
            location = self._scrub(headers.get("location", "?"))
            raise AdapterError(f"{what}: redirected ({status}) to {location}; use the shop's final URL",
                               status=status)
        error = error_for_status(status, f"{what} -> {status} {self._describe(response)}", headers)
        if error is not None:
            # The WP_Error code ("woocommerce_rest_cannot_create_order_refund", ...) when the
            # answer is WordPress JSON: some 500s are WooCommerce refusing, not PHP dying.
            error.wc_code = self._error_code(response)
            raise error
        try:
            data = response.json() if response.content else None
        except ValueError:
            # A 2xx that is not JSON (a cache page, a PHP notice before the JSON): outcome unknown.
            raise Transient(f"{what} -> {status} but the answer is not JSON", status=status) from None
        return WooResponse(status, headers, data)

    @staticmethod
    def _error_code(response: requests.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        code = body.get("code") if isinstance(body, dict) else None
        return code if isinstance(code, str) else None

    def _describe(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            text = re.sub(r"<[^>]+>", " ", response.text or "")
            return self._scrub(" ".join(text.split())[:200])
        if isinstance(body, dict) and "code" in body:
            return self._scrub(f"{body.get('code')}: {body.get('message', '')}"[:300])
        return ""

    def _scrub(self, text: str) -> str:
        text = _QUERY.sub("?…", text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
