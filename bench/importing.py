"""2. Import, 4. Memory.

The ceiling first: a tight direct client (httpx through the same WooCommerce adapter, as many
threads as all our consumers have together) creates `orders` orders spread over the same shops.
Then `orders` bol.com orders are placed, `orders / shops` per seller account, every connection is
polled once, and we count the orders created in the shops per second until the last one. Meanwhile
the RSS of every web worker and every Huey consumer is sampled every 100 ms (psutil)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psutil

from bench.shops import shop_keys
from bench.system import System, wait_for


def ceiling(system: System, orders: int) -> float:
    from adapters.woocommerce.adapter import WooCommerceShop
    from plugin.sync.ports import Address, MarketplaceLine, ShopOrderDraft

    shops = [WooCommerceShop(system.shop(i), *shop_keys(i), allow_private_hosts=True)
             for i in range(system.n_shops)]
    line = MarketplaceLine("1", "8712345678901", "Bench item", 1, Decimal("9.95"), "BENCH-1")
    address = Address(first_name="A", last_name="B", street="Dorpstraat", house_number="1",
                      zip_code="1234AB", city="Utrecht", country_code="NL")
    drafts = [(shops[i % len(shops)], ShopOrderDraft(f"ceiling-{i}", "bench", f"C{i}", "processing", (line,), address))
              for i in range(orders)]
    started = time.perf_counter()
    with ThreadPoolExecutor(system.threads) as pool:
        list(pool.map(lambda pair: pair[0].create_order(pair[1]), drafts))
    return orders / (time.perf_counter() - started)


class RssSampler:
    """Peak RSS per role, sampled every `every` seconds (pids re-read: gunicorn may replace one)."""

    def __init__(self, system: System, roles=("web", "worker"), every: float = 0.1):
        self.system, self.roles, self.every = system, roles, every
        self.peak = {role: 0 for role in roles}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._procs: dict[int, psutil.Process] = {}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        pids: dict[str, list[int]] = {}
        next_refresh = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_refresh:
                pids = {role: self.system.pids(role) for role in self.roles}
                next_refresh = now + 2.0
            for role, role_pids in pids.items():
                for pid in role_pids:
                    try:
                        proc = self._procs.get(pid) or self._procs.setdefault(pid, psutil.Process(pid))
                        rss = proc.memory_info().rss
                    except psutil.Error:
                        continue
                    self.peak[role] = max(self.peak[role], rss)
            self.samples += 1
            self._stop.wait(self.every)


def run(system: System, orders: int) -> dict:
    out: dict = {}
    out["ceiling"] = ceiling(system, orders)
    # the ceiling's orders made the shops send webhooks: all of them delivered and processed
    # before the import starts, so it does not compete with them
    system.settle()
    per_seller = orders // system.n_shops
    before = system.created_count()
    for i in range(system.n_shops):
        cid = system.seller(i)[0]
        left = per_seller
        while left:
            count = min(left, 10000)
            system.bol.post("/_sandbox/orders", json={"client_id": cid, "count": count}).raise_for_status()
            left -= count
    total = per_seller * system.n_shops
    from bench.idle import cpu
    roles = ("web", "worker", "shops", "sandbox")
    cpu0 = {role: cpu(system.pids(role)) for role in roles}
    with RssSampler(system) as rss:
        started = time.perf_counter()
        for conn_id in system.connection_ids:
            system.ctx.queue.poll_connection(conn_id)
        peak = [0]

        def done() -> bool:
            peak[0] = max(peak[0], system.queued_jobs())
            return system.created_count() - before >= total
        wait_for(done, timeout=max(600, total / 5), interval=0.25, what="every order created in the shops")
        elapsed = time.perf_counter() - started
    for role in roles:
        out[f"cpu_{role}"] = (cpu(system.pids(role)) - cpu0[role]) / total
    out["cpu_share_worker"] = (cpu(system.pids("worker")) - cpu0["worker"]) / elapsed
    out["orders"] = total
    out["queue_peak"] = peak[0]
    out["elapsed"] = elapsed
    out["rate"] = total / elapsed
    out["share"] = out["rate"] / out["ceiling"]
    out["rss_web"] = rss.peak["web"]
    out["rss_worker"] = rss.peak["worker"]
    out["rss_samples"] = rss.samples
    # duplicates: shop orders per marketplace order id beyond the first, in every shop
    out["duplicates"] = system.shops.get("/_bench/duplicates").json()["duplicates"]
    stats = system.bol.get("/_sandbox/stats").json()
    out["bol_429"] = stats.get("rate_limited", 0)
    return out

