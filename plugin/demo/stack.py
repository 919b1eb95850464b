"""The whole system in one process, on loopback sockets: both sandbox servers, the web app, and
a real Huey consumer. The end-to-end tests and the benchmarks run on it; `orderbridge run` uses
separate processes instead."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

SELLER = ("stack-seller", "stack-seller-secret")
SHOP_KEYS = ("ck_stack_00000000000000000000000000000000", "cs_stack_00000000000000000000000000000000")


class JobsInFlight:
    """The jobs the stack's own consumer is executing now, from Huey's signals: the queue's counts
    show what waits, not what a worker took and is still running."""

    ENDED = ("complete", "error", "canceled", "interrupted", "timeout", "locked", "rate-limited",
             "retrying", "revoked", "expired")

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[str] = set()

    def __call__(self, signal: str, task, *args) -> None:
        with self._lock:
            if signal == "executing":
                self._running.add(task.id)
            elif signal in self.ENDED:
                self._running.discard(task.id)

    def count(self) -> int:
        with self._lock:
            return len(self._running)


class Stack:
    def __init__(self, ctx, bol_url, bol_state, woo_url, woo_state, app_url):
        self.ctx, self.bol_url, self.bol_state = ctx, bol_url, bol_state
        self.jobs = JobsInFlight()
        self.woo_url, self.woo_state, self.app_url = woo_url, woo_state, app_url
        self.bol = httpx.Client(base_url=bol_url, timeout=30)
        self.woo = httpx.Client(base_url=woo_url, timeout=30)
        self.app = httpx.Client(base_url=app_url, timeout=30)
        self.woo_state_keys = SHOP_KEYS
        self.shop_id = None
        self.connection_id = None

    def connect(self, *, settings: dict | None = None, poll_seconds: int = 300) -> None:
        from plugin.sync.connect import add_connection, register_shop
        shop_settings = {"grace_seconds": 3600, "transporters": {"default": "TNT"}}
        shop_settings.update(settings or {})
        self.shop_id = register_shop(self.ctx, {
            "name": "Stack shop", "url": self.woo_url, "consumer_key": SHOP_KEYS[0],
            "consumer_secret": SHOP_KEYS[1], "settings": shop_settings})
        self.connection_id = add_connection(self.ctx, self.shop_id, {
            "marketplace": "bol", "name": "Stack seller", "poll_seconds": poll_seconds,
            "credentials": {"client_id": SELLER[0], "client_secret": SELLER[1]},
            "api_url": self.bol_url, "token_url": self.bol_url + "/token"})

    def seed(self, count: int) -> list[str]:
        response = self.bol.post("/_sandbox/orders", json={"client_id": SELLER[0], "count": count})
        response.raise_for_status()
        return response.json()["order_ids"]

    def order_in_shop(self) -> tuple[str, int]:
        """One new marketplace order, polled and created in the shop: (external id, shop order id)."""
        [ext] = self.seed(1)
        self.poll()
        created = self.wait_for(lambda: self.shop_orders_by_external().get(ext), what="order created in the shop")
        return ext, created[0]["id"]

    def poll(self) -> None:
        self.ctx.queue.poll_connection(self.connection_id)

    def tick(self) -> None:
        """The heartbeat (once a minute in production): due polls, sweeps, the grace sweep."""
        self.ctx.queue.dispatch()

    def shop_orders(self) -> list[dict]:
        return self.woo.get("/_sandbox/orders").json()

    def shop_orders_by_external(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for order in self.shop_orders():
            meta = {m["key"]: m["value"] for m in order.get("meta_data", [])}
            if "_orderbridge_external_id" in meta:
                out.setdefault(meta["_orderbridge_external_id"], []).append(order)
        return out

    def shipments(self) -> list[dict]:
        return self.bol.get("/_sandbox/shipments").json()["shipments"]

    def deliveries(self) -> list[dict]:
        return self.woo.get("/_sandbox/deliveries", params={"kind": "delivery"}).json()

    def complete(self, shop_order_id: int, provider: str | None = None, number: str | None = None) -> None:
        body = {"tracking_provider": provider, "tracking_number": number} if number else {}
        self.woo.post(f"/_sandbox/orders/{shop_order_id}/complete", json=body).raise_for_status()

    def add_tracking(self, shop_order_id: int, provider: str, number: str) -> None:
        self.woo.post(f"/_sandbox/orders/{shop_order_id}/tracking",
                      json={"tracking_provider": provider, "tracking_number": number}).raise_for_status()

    def pause_webhooks(self) -> None:
        """Pause every webhook in the shop: only our own calls and polls tell us anything."""
        auth = (self.woo_state_keys[0], self.woo_state_keys[1])
        for hook in self.woo.get("/wp-json/wc/v3/webhooks", auth=auth).json():
            self.woo.put(f"/wp-json/wc/v3/webhooks/{hook['id']}", json={"status": "paused"},
                         auth=auth).raise_for_status()

    def shop_webhooks(self) -> list[dict]:
        """Every webhook the sandbox shop has (with what the REST API hides)."""
        return self.woo.get("/_sandbox/webhooks").json()

    def revoke_shop_key(self, consumer_key: str | None = None) -> None:
        """The merchant revokes our API key in wp-admin: from now on the shop answers 401."""
        with self.woo_state.lock:
            self.woo_state.keys.pop(consumer_key or self.woo_state_keys[0])

    def new_shop_key(self, consumer_key: str, consumer_secret: str) -> None:
        self.woo.post("/_sandbox/keys", json={"consumer_key": consumer_key,
                                              "consumer_secret": consumer_secret}).raise_for_status()
        self.woo_state_keys = (consumer_key, consumer_secret)

    def timeline(self, order_id: int) -> list[str]:
        from sqlalchemy import select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return list(s.scalars(select(models.TimelineEntry.message)
                                  .where(models.TimelineEntry.order_id == order_id)
                                  .order_by(models.TimelineEntry.id)))

    def order_rows(self):
        from sqlalchemy import select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return {o.external_id: o for o in s.scalars(select(models.Order))}

    def shipment_rows(self):
        from sqlalchemy import select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return {sh.order.external_id: sh for sh in s.scalars(select(models.Shipment)).unique()}

    def busy(self, horizon: float = 2.0) -> list[str]:
        """What is still on its way, for wait_quiet and its message: jobs queued, executing or
        scheduled within `horizon` seconds, shop webhooks not yet delivered or not processed, and
        rows a job holds the lease of (a job at work holds its row's lease)."""
        from sqlalchemy import func, select

        from plugin.jobs import huey
        from plugin.store import models
        busy = []
        queued, executing = huey.pending_count(), self.jobs.count()
        if queued:
            busy.append(f"{queued} jobs queued")
        if executing:
            busy.append(f"{executing} jobs executing")
        soon = time.time() + horizon
        scheduled = sum(1 for task in huey.scheduled() if _epoch(task.eta) < soon)
        if scheduled:
            busy.append(f"{scheduled} jobs due within {horizon:g} s")
        if not self.woo_state.wait_for_deliveries(0):
            busy.append("shop webhooks in the shop's queue")
        now = self.ctx.clock()
        with self.ctx.db.session() as s:
            unprocessed = s.scalar(select(func.count()).select_from(models.WebhookDelivery)
                                   .where(models.WebhookDelivery.processed_at.is_(None)))
            if unprocessed:
                busy.append(f"{unprocessed} webhook deliveries not processed")
            for model in (models.Binding, models.Shipment, models.Cancellation, models.Return):
                leased = s.scalar(select(func.count()).select_from(model).where(model.lease_until > now))
                if leased:
                    busy.append(f"{leased} {model.__tablename__} leased")
            stock = s.scalar(select(func.count()).select_from(models.Connection)
                             .where(models.Connection.stock_lease_until > now))
            if stock:
                busy.append(f"{stock} stock pushes leased")
        return busy

    def wait_quiet(self, timeout: float = 30.0, horizon: float = 2.0) -> None:
        """Until nothing is on its way (see busy), seen on two looks 0.2 s apart: a job between
        its pop from the queue and its start is in neither count for that instant. A test that
        says "nothing happened twice" calls this, then reads afresh."""
        deadline = time.monotonic() + timeout
        last: list[str] = []
        while time.monotonic() < deadline:
            last = self.busy(horizon)
            if not last:
                time.sleep(0.2)
                last = self.busy(horizon)
                if not last:
                    return
            time.sleep(0.1)
        raise AssertionError(f"not quiet after {timeout} s: {', '.join(last)}")

    @staticmethod
    def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _epoch(eta) -> float:
    """A Huey eta (naive UTC, as Huey keeps it with utc=True) as seconds since the epoch."""
    from datetime import UTC
    return (eta if eta.tzinfo else eta.replace(tzinfo=UTC)).timestamp()


def reset_database(url: str) -> None:
    from plugin.store.schema import downgrade, upgrade
    try:
        downgrade(url, "base")
    except Exception:  # noqa: BLE001 - a fresh database has nothing to downgrade
        pass
    upgrade(url)


@contextmanager
def running_stack(*, workers: int = 8, bol_state=None, woo_state=None, **settings_overrides) -> Iterator[Stack]:
    """Start everything; the caller's environment chose the database and the queue (Settings)."""
    from plugin.config import Settings
    from plugin.jobs import HueyQueue, huey, make_consumer
    from plugin.runtime import build_context, set_context
    from plugin.web import create_app
    from sandbox.bol.server import serve as serve_bol
    from sandbox.bol.server import stop as stop_bol
    from sandbox.bol.state import BolState
    from sandbox.serving import serve_app, stop_server
    from sandbox.woocommerce.server import serve as serve_woo
    from sandbox.woocommerce.server import stop as stop_woo
    from sandbox.woocommerce.state import WooState

    settings = Settings.from_env(**settings_overrides)
    reset_database(settings.database_url)
    huey.flush()
    bol_state = bol_state or BolState(seed=1, process_delay=0.2)
    # the app is served over plain http on loopback: the dev switch real shops do not have
    woo_state = woo_state or WooState(require_https_callback=False)
    bol_server, bol_thread = serve_bol("127.0.0.1", 0, bol_state)
    woo_server, woo_thread = serve_woo("127.0.0.1", 0, woo_state)
    ctx = build_context(settings, HueyQueue())
    app_server, app_thread = serve_app(create_app(settings, context=ctx), "127.0.0.1", 0, name="orderbridge")
    app_url = f"http://127.0.0.1:{app_server.server_port}"
    ctx.settings = dataclasses.replace(settings, public_url=app_url)
    stack = Stack(ctx, f"http://127.0.0.1:{bol_server.server_port}", bol_state,
                  f"http://127.0.0.1:{woo_server.server_port}", woo_state, app_url)
    stack.bol.post("/_sandbox/sellers", json={"client_id": SELLER[0], "client_secret": SELLER[1]}).raise_for_status()
    stack.woo.post("/_sandbox/keys", json={"consumer_key": SHOP_KEYS[0],
                                          "consumer_secret": SHOP_KEYS[1]}).raise_for_status()
    huey.signal()(stack.jobs)          # every signal: what the consumer below is executing
    consumer = make_consumer(workers=workers)
    consumer.start()
    try:
        yield stack
    finally:
        consumer.stop(graceful=True)
        huey.disconnect_signal(stack.jobs)
        stop_server(app_server, app_thread)
        stop_woo(woo_server, woo_thread)
        stop_bol(bol_server, bol_thread)
        set_context(None)
        ctx.db.dispose()
        huey.flush()
