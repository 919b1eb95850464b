"""Webhook delivery: one background worker, like WooCommerce's Action Scheduler queue.

What it mirrors (class-wc-webhook.php, wc-webhook-functions.php):
- A (webhook, resource) pair already waiting in the queue is not queued again; the payload is
  built when the delivery is sent, so the one delivery carries the latest state.
- The body is PHP's json_encode of what GET /wc/v3/<resource>s/<id> returns at send time;
  `deleted` events carry only {"id": N}.
- Headers (as the captured 7.8.2 and 9.9.5 deliveries): User-Agent "WooCommerce/x Hookshot
  (WordPress/y)", Accept, Accept-Encoding, a Referer on WordPress before 6.2 only, Content-Type
  application/json, X-WC-Webhook-Source/-Topic/-Resource/-Event/-Signature/-ID/-Delivery-ID,
  Connection: close. Redirects are not followed.
- Optionally (state.delivery_delay) each delivery waits in the queue as long as WP-Cron leaves
  Action Scheduler's queue on a real shop (10-60 s), so benchmarks show what a merchant sees.
- Success is a 2xx, 301 or 302 (the code checks 200 <= code < 303) and resets failure_count; any
  other answer, a timeout or a connection error is a failure. A failure that arrives while
  failure_count is already above the limit (5) disables the webhook; otherwise it counts up.
- Failed deliveries are not retried. The ping (a form POST `webhook_id=N`, unsigned) follows a
  webhook's first delivery, as in the captured shops; it is not counted either way.
Every send is appended to `state.deliveries` with time.time() stamps for latency measurements.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from .orders import order_to_json
from .products import product_to_json
from .state import WooState
from .wpjson import php_json

# One row of state.deliveries (also GET /_sandbox/deliveries). kind is "delivery" or "ping";
# sent_at is time.time() when the request left, duration the seconds until the answer.
LOG_FIELDS = ("seq", "kind", "webhook_id", "delivery_id", "topic", "resource", "event", "resource_id",
              "order_id", "status_code", "error", "success", "sent_at", "duration", "enqueued_at",
              "redelivery", "delivery_url")


@dataclass
class _Job:
    webhook_id: int
    resource_id: int
    enqueued_at: float
    not_before: float = field(default=0.0)


def signature(body: bytes, secret: str) -> str:
    """WC_Webhook::generate_signature(): base64(HMAC-SHA256(body, secret)); the stored secret
    goes through wp_specialchars_decode() first."""
    key = html.unescape(secret) if "&" in secret else secret
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _sender() -> httpx.Client:
    """One client for every delivery of the process (thread-safe). httpx.post() would build a
    client, and its TLS context, per delivery: ~15 ms of CPU a webhook, which PHP's curl in a real
    WordPress does not spend. Keep-alive off: each delivery opens its own connection, as
    wp_remote_post does."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
        return _client


class Deliverer:
    def __init__(self, state: WooState):
        self.state = state
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._queued: set[tuple[int, int]] = set()
        self._busy = False
        self._stopping = False
        self._salt = state.random_string(32)
        self._delay_rng = random.Random(f"delivery-delay-{id(state)}")
        self._thread = threading.Thread(target=self._run, name="woo-sandbox-deliveries", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ queue
    def enqueue_many(self, events: list[tuple[int, int]]) -> None:
        if not events:
            return
        delay = self.state.faults.delivery_delay_ms / 1000.0
        with self._cond:
            for webhook_id, resource_id in events:
                if (webhook_id, resource_id) in self._queued:
                    continue
                self._queued.add((webhook_id, resource_id))
                self._queue.append(_Job(webhook_id, resource_id, time.time(),
                                        time.monotonic() + delay + self._cron_wait()))
            self._cond.notify_all()

    def _cron_wait(self) -> float:
        """How long Action Scheduler leaves this delivery queued (state.delivery_delay): WP-Cron
        runs the queue on a later page view, 10-60 s after the change on a real shop. Drawn from
        a Random of its own, so turning it on never shifts the shop's seeded ids and keys."""
        window = self.state.delivery_delay
        if window is None:
            return 0.0
        low, high = window
        return low if high <= low else self._delay_rng.uniform(low, high)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _take(self) -> _Job | None:
        # Lock order is state.lock -> self._cond (fire() enqueues while holding state.lock), so
        # nothing in here may take state.lock; the Random is used without it (CPython-safe).
        with self._cond:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                ready = [i for i, job in enumerate(self._queue) if job.not_before <= now]
                if ready:
                    window = ready[:3] if self.state.faults.reorder else ready[:1]
                    index = window[self.state.rng.randrange(len(window))] if len(window) > 1 else window[0]
                    job = self._queue.pop(index)
                    # Running, no longer pending: a new event may queue another delivery.
                    self._queued.discard((job.webhook_id, job.resource_id))
                    self._busy = True
                    return job
                waits = [job.not_before - now for job in self._queue]
                self._cond.wait(min(waits) if waits else None)

    def _run(self) -> None:
        while True:
            job = self._take()
            if job is None:
                return
            try:
                self._deliver(job)
            except Exception as exc:   # keep the worker alive whatever a receiver does
                self._record(kind="delivery", webhook_id=job.webhook_id, error=f"sandbox error: {exc!r}")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    # ------------------------------------------------------------------ sending
    def _deliver(self, job: _Job) -> None:
        state = self.state
        with state.lock:
            webhook = state.webhooks.get(job.webhook_id)
            if webhook is None:
                return                    # deleted while queued: nothing to load, nothing sent
            topic, resource, event = webhook.topic, webhook.resource, webhook.event
            url, secret = webhook.delivery_url, webhook.secret
            payload = self._payload(resource, event, job.resource_id)
        body = php_json(payload)
        delivery_id = self._delivery_id(job.webhook_id)
        headers = {
            **self._transport_headers(url),
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": state.site_url + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(body, secret),
            "X-WC-Webhook-ID": str(job.webhook_id),
            "X-WC-Webhook-Delivery-ID": delivery_id,
            "Connection": "close",
        }
        sends = 2 if state.chance(state.faults.redeliver_rate) else 1
        for attempt in range(sends):
            code, error, sent_at, duration = self._post(url, body, headers, state.delivery_timeout)
            success = code is not None and 200 <= code < 303
            self._count(job.webhook_id, success)
            self._record(kind="delivery", webhook_id=job.webhook_id, delivery_id=delivery_id, topic=topic,
                         resource=resource, event=event, resource_id=job.resource_id,
                         order_id=job.resource_id if resource == "order" else None,
                         status_code=code, error=error, success=success, sent_at=sent_at,
                         duration=duration, enqueued_at=job.enqueued_at, redelivery=attempt > 0,
                         delivery_url=url)
        with state.lock:
            first = webhook.pending_delivery
            webhook.pending_delivery = False
        if first:
            self.ping(job.webhook_id)

    def ping(self, webhook_id: int) -> bool:
        """WC_Webhook::deliver_ping(): synchronous; True only for exactly 200."""
        with self.state.lock:
            webhook = self.state.webhooks.get(webhook_id)
            if webhook is None:
                return False
            url = webhook.delivery_url
        headers = {**self._transport_headers(url), "Connection": "close",
                   "Content-Type": "application/x-www-form-urlencoded"}
        code, error, sent_at, duration = self._post(url, f"webhook_id={webhook_id}".encode(), headers,
                                                    self.state.ping_timeout)
        self._record(kind="ping", webhook_id=webhook_id, status_code=code, error=error,
                     success=code == 200, sent_at=sent_at, duration=duration, delivery_url=url)
        return code == 200

    def _transport_headers(self, url: str) -> dict:
        """What WordPress' HTTP API puts first on every request (captured deliveries): its
        User-Agent, curl's Accept and Accept-Encoding, and on WordPress before 6.2 (Requests
        1.x) a Referer that is the URL itself."""
        headers = {"User-Agent": self.user_agent, "Accept": "*/*",
                   "Accept-Encoding": "deflate, gzip, br, zstd"}
        if self.state.sends_referer:
            headers["Referer"] = url
        return headers

    @property
    def user_agent(self) -> str:
        return f"WooCommerce/{self.state.wc_version} Hookshot (WordPress/{self.state.wp_version})"

    def _post(self, url: str, body: bytes, headers: dict, timeout: float):
        sent_at = time.time()
        started = time.perf_counter()
        if self.state.enforce_safe_urls and not self._is_safe(url):
            return None, "http_request_failed: A valid URL was not provided.", sent_at, 0.0
        try:
            response = _sender().post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
            return response.status_code, None, sent_at, round(time.perf_counter() - started, 5)
        except httpx.HTTPError as exc:
            return None, f"http_request_failed: {exc.__class__.__name__}", sent_at, round(time.perf_counter() - started, 5)

    def _is_safe(self, url: str) -> bool:
        """wp_http_validate_url(): no credentials, no private/loopback host (unless it is the
        site's own host), and only ports 80, 443, 8080 (or the site's own port)."""
        parts, home = urlsplit(url), urlsplit(self.state.site_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            return False
        same_host = parts.hostname == home.hostname
        if not same_host:
            try:
                address = ipaddress.ip_address(socket.gethostbyname(parts.hostname))
            except (OSError, ValueError):
                return False
            if address.is_private or address.is_loopback or address.is_unspecified:
                return False
        if parts.port is None or parts.port in (80, 443, 8080):
            return True
        return same_host and home.port == parts.port

    # ------------------------------------------------------------------ bookkeeping
    def _payload(self, resource: str, event: str, resource_id: int) -> dict:
        state = self.state
        if event == "deleted":
            return {"id": resource_id}
        if resource == "order":
            order = state.orders.get(resource_id)
            if order is not None:
                return order_to_json(state, order)
            return {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}
        if resource == "product":
            product = state.products.get(resource_id)
            if product is not None:
                return product_to_json(state, product)
            return {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}
        return {}

    def _delivery_id(self, webhook_id: int) -> str:
        if self.state.unique_delivery_ids:
            material = f"{webhook_id}-{self.state.next_delivery_seq()}-{time.time()}"
        else:
            # wp_hash( $this->get_id() . strtotime( 'now' ) ): HMAC-MD5 with the site's salt.
            material = f"{webhook_id}{int(time.time())}"
        return hmac.new(self._salt.encode(), material.encode(), hashlib.md5).hexdigest()

    def _count(self, webhook_id: int, success: bool) -> None:
        state = self.state
        with state.lock:
            webhook = state.webhooks.get(webhook_id)
            state.stats["deliveries_ok" if success else "deliveries_failed"] += 1
            if webhook is None:
                return
            if success:
                webhook.failure_count = 0
            elif webhook.failure_count > state.max_delivery_failures:
                webhook.status = "disabled"
                state.stats["webhooks_disabled"] += 1
            else:
                webhook.failure_count += 1

    def _record(self, **entry) -> None:
        row = dict.fromkeys(LOG_FIELDS)
        row.update(entry, redelivery=bool(entry.get("redelivery")))
        with self.state.lock:
            row["seq"] = len(self.state.deliveries) + 1
            self.state.deliveries.append(row)
