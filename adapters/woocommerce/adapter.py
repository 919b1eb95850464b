"""WooCommerceShop: the ShopPort over the WooCommerce REST API v3.

Reads (GETs) are retried here on RetryableError (adapters.http.with_retries, honouring
Retry-After). Writes are sent once: a create that times out or answers 5xx raises Transient and
the sync layer looks the order up with find_order_by_ref before trying again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from adapters.errors import AdapterError, NotFound, Transient
from adapters.http import with_retries
from plugin.sync.ports import ShopOrder, ShopOrderDraft

from .client import WooClient, WooResponse
from .mapping import (
    REF_KEY,
    UnexpectedPayload,
    draft_to_wc,
    format_wc_datetime,
    meta_value,
    wc_to_shop_order,
)

PER_PAGE = 100                      # the REST API's maximum
REF_LOOKBACK = timedelta(minutes=1)  # shop clock vs. ours when searching by creation date


class WooCommerceShop:
    name = "woocommerce"

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *,
                 tracking_meta_keys: Iterable[str] = (), timeout: float = 10, verify_ssl: bool = True,
                 read_attempts: int = 3, query_string_auth: bool = False, client: WooClient | None = None,
                 allow_private_hosts: bool = False):
        """`query_string_auth` sends the keys as query params over https, for hosts whose server
        drops the Authorization header; over http the client always signs with OAuth 1.0a.
        `allow_private_hosts` lets the shop URL point at loopback/private addresses (dev and
        sandboxes only); otherwise every call refuses them with UnsafeURL (adapters.netguard)."""
        self.url = url.rstrip("/")
        self.tracking_meta_keys = tuple(tracking_meta_keys)
        self.read_attempts = max(1, read_attempts)
        self._client = client or WooClient(self.url, consumer_key, consumer_secret,
                                           timeout=timeout, verify_ssl=verify_ssl,
                                           query_string_auth=query_string_auth,
                                           allow_private_hosts=allow_private_hosts)

    def __repr__(self) -> str:
        return f"WooCommerceShop(url={self.url!r})"

    # ------------------------------------------------------------------ orders
    def create_order(self, draft: ShopOrderDraft) -> ShopOrder:
        """POST /orders once. Timeout, connection loss or 5xx -> Transient: the order may exist."""
        response = self._client.post("orders", draft_to_wc(draft))
        return self._order(response.data, "POST orders")

    def find_order_by_ref(self, ref: str, created_after: datetime) -> ShopOrder | None:
        """The order we created with this ref, if any. REST v3 cannot filter on meta, so page
        through orders created since `created_after` (minus a minute of clock skew), oldest id
        first, and compare `_orderbridge_ref` here. Trashed orders are looked at too (second
        pass): a trashed order still means "already created, do not create again"."""
        base = {"after": format_wc_datetime(created_after - REF_LOOKBACK), "dates_are_gmt": "true",
                "orderby": "id", "order": "asc"}
        for extra in ({}, {"status": "trash"}):
            for raw in self._pages("orders", {**base, **extra}):
                if meta_value(raw, REF_KEY) == ref:
                    return self._order(raw, "GET orders")
        return None

    def get_order(self, order_id: int) -> ShopOrder:
        response = self._read(lambda: self._client.get(f"orders/{int(order_id)}"))
        return self._order(response.data, f"GET orders/{order_id}")

    def orders_modified_after(self, since: datetime) -> Iterator[ShopOrder]:
        """Every order modified at or after `since` (all pages, by ascending id so a change
        during paging cannot shift later pages). WooCommerce keeps whole seconds and compares
        `modified_after` exclusively, so the query starts a second early; callers get an
        occasional repeat, never a gap."""
        params = {"modified_after": format_wc_datetime(since.replace(microsecond=0) - timedelta(seconds=1)),
                  "dates_are_gmt": "true", "orderby": "id", "order": "asc"}
        for raw in self._pages("orders", params):
            yield self._order(raw, "GET orders")

    # ------------------------------------------------------------------ webhooks
    def ensure_webhooks(self, delivery_url: str, secret: str, topics: tuple[str, ...]) -> list[int]:
        """One webhook per topic to `delivery_url`: keep an active one, re-activate a paused or
        disabled one (sending our secret again, since WooCommerce never returns it), else create
        one. Returns the ids in `topics` order.

        Note: WooCommerce does not reset a webhook's failure count when it is re-activated, so a
        re-activated webhook is disabled again by its next failure until one delivery succeeds."""
        existing = self._webhooks_to(delivery_url)
        ids: list[int] = []
        for topic in topics:
            same = sorted((w for w in existing if w.get("topic") == topic), key=lambda w: w["id"])
            active = [w for w in same if w.get("status") == "active"]
            if active:
                ids.append(active[0]["id"])
            elif same:
                updated = self._client.put(f"webhooks/{same[0]['id']}", {"status": "active", "secret": secret})
                ids.append(self._id(updated, "PUT webhooks"))
            else:
                created = self._client.post("webhooks", {
                    "name": f"orderbridge {topic}", "topic": topic, "delivery_url": delivery_url,
                    "secret": secret, "status": "active"})
                ids.append(self._id(created, "POST webhooks"))
        return ids

    def webhooks_for(self, delivery_url: str) -> list[dict]:
        """{id, topic, status} of every webhook (any status) delivering to `delivery_url`, by id:
        read back after ensure_webhooks to confirm what the shop really has."""
        return [{"id": w.get("id"), "topic": w.get("topic"), "status": w.get("status")}
                for w in sorted(self._webhooks_to(delivery_url), key=lambda w: w.get("id") or 0)]

    def remove_webhooks(self, delivery_url: str) -> int:
        """Delete every webhook delivering to `delivery_url` (force=true: webhooks cannot be
        trashed). Returns how many were deleted; one already gone (404) is not counted."""
        removed = 0
        for webhook in self._webhooks_to(delivery_url):
            try:
                self._client.delete(f"webhooks/{int(webhook['id'])}", {"force": True})
            except NotFound:
                continue
            removed += 1
        return removed

    def check(self) -> None:
        """Cheap authenticated read; AuthError on bad or revoked keys."""
        self._read(lambda: self._client.get("orders", {"per_page": 1, "_fields": "id"}))

    # ------------------------------------------------------------------ plumbing
    def _read(self, call: Callable[[], WooResponse]) -> WooResponse:
        return with_retries(call, attempts=self.read_attempts)

    def _webhooks_to(self, delivery_url: str) -> list[dict]:
        """All webhooks, any status, whose delivery URL is `delivery_url` (trailing "/" ignored)."""
        target = delivery_url.rstrip("/")
        return [w for w in self._pages("webhooks", {"status": "all", "orderby": "id", "order": "asc"})
                if str(w.get("delivery_url", "")).rstrip("/") == target]

    def _pages(self, endpoint: str, params: dict) -> Iterator[dict]:
        page = 1
        while True:
            query = {**params, "per_page": PER_PAGE, "page": page}
            response = self._read(lambda q=query: self._client.get(endpoint, q))
            if not isinstance(response.data, list):
                raise Transient(f"WooCommerce GET {endpoint}: expected a list, got {type(response.data).__name__}")
            yield from response.data
            try:
                total_pages = int(response.header("X-WP-TotalPages", "0"))
            except ValueError:
                total_pages = 0
            if not response.data or page >= total_pages:
                return
            page += 1

    def _order(self, data, what: str) -> ShopOrder:
        try:
            return wc_to_shop_order(data, self.tracking_meta_keys)
        except UnexpectedPayload as exc:
            raise Transient(f"WooCommerce {what}: {exc}") from None

    @staticmethod
    def _id(response: WooResponse, what: str) -> int:
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise AdapterError(f"WooCommerce {what}: answer without an id")
        return data["id"]
