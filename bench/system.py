"""The system under measurement: orderbridge launched as real processes in one topology
(plugin/demo/topology.py), the bol.com sandbox it starts, and the bench's own process of N
WooCommerce sandbox shops (bench/shops.py), each shop connected to its own bol.com seller account."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from bench.shops import shop_keys, shop_url
from plugin.demo.processes import free_port
from plugin.demo.stack import Stack

FAR = timedelta(days=7)


@dataclass
class System:
    topology: str
    launched: object                     # plugin.demo.topology.Launched
    shops_url: str
    shops_proc: subprocess.Popen
    n_shops: int
    bol: httpx.Client
    shops: httpx.Client
    threads: int                         # consumer threads in total (all consumers)
    shop_ids: list[int] = field(default_factory=list)          # ours, index = shop index
    connection_ids: list[int] = field(default_factory=list)    # index = shop index
    shop_index: dict[int, int] = field(default_factory=dict)   # our shop id -> shop index

    @property
    def ctx(self):
        return self.launched.ctx

    @property
    def bol_url(self) -> str:
        return self.launched.urls["bol"]

    def seller(self, i: int) -> tuple[str, str]:
        return f"bench-seller-{i:04d}", f"bench-seller-secret-{i:04d}"

    def shop(self, i: int) -> str:
        return shop_url(self.shops_url, i)

    def pids(self, role: str) -> list[int]:
        if role == "shops":
            return [self.shops_proc.pid]
        return self.launched.pids(role)

    # ------------------------------------------------------------------ set-up
    def connect_all(self) -> None:
        """One shop and one bol.com seller account per shop index, connected, with every periodic
        job (order polls, the shop's safety-net poll, returns polls) pushed a week out: the bench
        triggers polls itself, so nothing runs on its own schedule in the middle of a measurement."""
        from plugin.sync.connect import add_connection, register_shop
        for i in range(self.n_shops):
            cid, secret = self.seller(i)
            self.bol.post("/_sandbox/sellers", json={"client_id": cid, "client_secret": secret}).raise_for_status()

        def one(i: int) -> tuple[int, int]:
            key, secret = shop_keys(i)
            shop_id = register_shop(self.ctx, {
                "name": f"Bench shop {i}", "url": self.shop(i), "consumer_key": key, "consumer_secret": secret,
                "settings": {"grace_seconds": 3600, "transporters": {"default": "TNT"}}})
            cid, csecret = self.seller(i)
            conn_id = add_connection(self.ctx, shop_id, {
                "marketplace": "bol", "name": f"Bench seller {i}", "poll_seconds": 300,
                "credentials": {"client_id": cid, "client_secret": csecret},
                "api_url": self.bol_url, "token_url": self.bol_url + "/token"}, check=False)
            return shop_id, conn_id

        with ThreadPoolExecutor(8) as pool:
            pairs = list(pool.map(one, range(self.n_shops)))
        self.shop_ids = [p[0] for p in pairs]
        self.connection_ids = [p[1] for p in pairs]
        self.shop_index = {shop_id: i for i, shop_id in enumerate(self.shop_ids)}
        self.hold_schedules()

    def hold_schedules(self) -> None:
        from sqlalchemy import update

        from plugin.store import models
        later = self.ctx.clock() + FAR
        with self.ctx.db.session() as s:
            s.execute(update(models.Connection).values(next_poll_at=later, returns_poll_at=later,
                                                       stock_reconcile_at=later))
            s.execute(update(models.Shop).values(next_poll_at=later))

    # ------------------------------------------------------------------ reading our database
    def created_count(self) -> int:
        from sqlalchemy import func, select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count()).select_from(models.Binding).where(models.Binding.state == "created"))

    def created_bindings(self) -> list[tuple[int, int, str]]:
        """(shop index, shop order id, marketplace order id) of every order created in a shop."""
        from sqlalchemy import select

        from plugin.store import models
        with self.ctx.db.session() as s:
            rows = s.execute(select(models.Binding.shop_id, models.Binding.shop_order_id, models.Binding.external_id)
                             .where(models.Binding.state == "created").order_by(models.Binding.id)).all()
        return [(self.shop_index[shop_id], int(order_id), ext) for shop_id, order_id, ext in rows
                if shop_id in self.shop_index]

    def settle(self, timeout: float = 900) -> None:
        """Wait until no webhook is queued in any shop and we processed every one we received."""
        wait_for(lambda: self.shops.get("/_bench/stats").json()["deliveries_pending"] == 0, timeout=timeout,
                 interval=0.5, what="the shops' webhook queues to drain")
        wait_for(lambda: self.unprocessed_deliveries() == 0, timeout=timeout, interval=0.5,
                 what="orderbridge to process every webhook")
        wait_for(lambda: self.queued_jobs() == 0, timeout=timeout, interval=0.5, what="the job queue to empty")

    @staticmethod
    def queued_jobs() -> int:
        """Jobs waiting in the launched queue (Huey's SQLite table or Redis list)."""
        from plugin.jobs import huey
        return huey.pending_count()

    def unprocessed_deliveries(self) -> int:
        from sqlalchemy import func, select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count()).select_from(models.WebhookDelivery)
                            .where(models.WebhookDelivery.processed_at.is_(None)))

    def open_shipments(self) -> int:
        from sqlalchemy import func, select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count()).select_from(models.Shipment)
                            .where(models.Shipment.state.in_(("pending", "sending", "submitted"))))

    def polls_done_since(self, since) -> int:
        from sqlalchemy import func, select

        from plugin.store import models
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count()).select_from(models.PollCursor)
                            .where(models.PollCursor.stream.like("connection:%:orders"),
                                   models.PollCursor.last_success_at >= since))


# the stack's poll-until-true (raises AssertionError with what it waited for)
wait_for = Stack.wait_for


@contextmanager
def running(topology: str, *, var_dir: Path, shops: int, latency_ms: int, consumers: int = 2,
            consumer_threads: int = 16, web_workers: int = 2, env: dict | None = None,
            delivery_delay: str = "") -> Iterator[System]:
    from plugin.demo.topology import launched
    var_dir.mkdir(parents=True, exist_ok=True)
    with launched(topology, var_dir=var_dir, latency_ms=latency_ms, web_workers=web_workers,
                  consumers=consumers, consumer_threads=consumer_threads, env=env) as stack:
        port = free_port()
        log = open(var_dir / "logs" / "bench-shops.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "bench.shops", "--port", str(port), "--shops", str(shops),
                                 "--latency-ms", str(latency_ms), "--delivery-delay", delivery_delay],
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        bol = httpx.Client(base_url=stack.urls["bol"], timeout=60)
        shop_client = httpx.Client(base_url=base, timeout=60)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"bench shops exited with {proc.returncode}; see {var_dir / 'logs'}")
                try:
                    if shop_client.get("/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("bench shops did not start")
                time.sleep(0.1)
            threads = consumer_threads * (consumers if topology == "prod" else 1)
            yield System(topology, stack, base, proc, shops, bol, shop_client, threads)
        finally:
            bol.close()
            shop_client.close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
