"""1. Propagation: the shops complete orders (with track & trace) at a steady rate; how long from
the shop's webhook to bol.com's receipt of the shipment call.

Clock: both ends are stamped by the sandboxes on this machine's clock (time.time()): the shop's
delivery log stamps `sent_at` when the webhook leaves the shop, bol.com's shipment log stamps
`received_at` when POST /retailer/shipments arrives (before its injected latency). The delivery
counted is the first order.updated delivery of that order sent after the merchant's save (the shop
builds the payload at send time). The orders completed are spread round-robin over the shops.

Beside it in the same run: the floor, one direct shipment call to the same bol.com sandbox (a
client's round trip, so it includes the injected latency both ways), and Channable's 5-minute
polling model (a change waits on average half an interval: median 150 s)."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.system import System, wait_for
from bench.table import pct

CHANNABLE_MEDIAN = 150.0
FLOOR_CALLS = 20
DRIVER_THREADS = 32


def interleaved(system: System) -> list[tuple[int, int, str]]:
    """Every order created in a shop, round-robin over the shops."""
    by_shop: dict[int, list] = defaultdict(list)
    for row in system.created_bindings():
        by_shop[row[0]].append(row)
    out = []
    queues = [by_shop[i] for i in sorted(by_shop)]
    for k in range(max((len(q) for q in queues), default=0)):
        out.extend(q[k] for q in queues if k < len(q))
    return out


def floor(system: System) -> float:
    from adapters.bol.adapter import from_config
    from plugin.sync.ports import ShipmentRequest
    seller = ("bench-floor", "bench-floor-secret")
    system.bol.post("/_sandbox/sellers", json={"client_id": seller[0], "client_secret": seller[1]}).raise_for_status()
    ids = system.bol.post("/_sandbox/orders", json={"client_id": seller[0], "count": FLOOR_CALLS}).json()["order_ids"]
    direct = from_config({"client_id": seller[0], "client_secret": seller[1]}, base_url=system.bol_url)
    took = []
    for ext in ids:
        order = direct.get_order(ext)
        started = time.perf_counter()
        direct.ship(ShipmentRequest(ext, tuple(line.external_line_id for line in order.lines), f"floor-{ext}",
                                    "TNT", f"3SFLOOR{ext}"))
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def drive(system: System, batch: list[tuple[int, int, str]], rate: float) -> dict[tuple[int, int], float]:
    """Complete each order of `batch` at t0 + i / rate; returns (shop, order id) -> time.time() of
    the merchant's click (just before the save)."""
    client = httpx.Client(base_url=system.shops_url, timeout=60,
                          limits=httpx.Limits(max_connections=DRIVER_THREADS, max_keepalive_connections=DRIVER_THREADS))
    completed: dict[tuple[int, int], float] = {}
    errors: list[str] = []
    started = time.perf_counter() + 0.2

    def one(i: int) -> None:
        shop, order_id, _ext = batch[i]
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        completed[(shop, order_id)] = time.time()
        response = client.post(f"/shop-{shop}/_sandbox/orders/{order_id}/complete",
                               json={"tracking_provider": "PostNL", "tracking_number": f"3SBENCH{shop:03d}{order_id:09d}"})
        if response.status_code >= 400:
            errors.append(response.text[:200])

    with client, ThreadPoolExecutor(DRIVER_THREADS) as pool:
        list(pool.map(one, range(len(batch))))
    if errors:
        raise RuntimeError(f"{len(errors)} completions failed, first: {errors[0]}")
    return completed


def measure(system: System, batch: list[tuple[int, int, str]], rate: float) -> dict:
    from bench.idle import cpu
    wanted = {ext for _, _, ext in batch}
    cpu0 = {role: cpu(system.pids(role)) for role in ("web", "worker")}
    completed = drive(system, batch, rate)
    since = min(completed.values())

    def received() -> dict[str, float]:
        out: dict[str, float] = {}
        for s in system.bol.get("/_sandbox/shipments").json()["shipments"]:
            if s["order_id"] in wanted and s["http_status"] == 202:
                out.setdefault(s["order_id"], s["received_at"])
        return out

    def complete() -> dict[str, float] | None:
        r = received()
        return r if len(r) >= len(wanted) else None

    got = wait_for(complete, timeout=120 + len(batch) / 5, interval=1.0, what="every shipment received by bol.com")
    # our CPU per completion: the webhook, applying it, pushing the shipment (following its
    # process status to SUCCESS may still be running: not all of it is in here)
    cpu_web = (cpu(system.pids("web")) - cpu0["web"]) / len(batch)
    cpu_worker = (cpu(system.pids("worker")) - cpu0["worker"]) / len(batch)
    sent: dict[tuple[int, int], float] = {}
    answered: dict[tuple[int, int], float] = {}
    for d in sorted(system.shops.get("/_bench/deliveries", params={"since": since}).json(), key=lambda d: d["sent_at"]):
        key = (d["shop"], d["order_id"])
        if key in completed and d["sent_at"] >= completed[key]:
            if key not in sent:
                sent[key] = d["sent_at"]
                answered[key] = d["duration"] or 0.0
    by_key = {(shop, order_id): ext for shop, order_id, ext in batch}
    webhook = sorted(got[by_key[k]] - t for k, t in sent.items())
    click = sorted(got[by_key[k]] - t for k, t in completed.items())
    clicks = sorted(completed.values())
    sends = sorted(sent.values())
    return {
        "count": len(batch), "measured": len(webhook),
        "offered": (len(clicks) - 1) / (clicks[-1] - clicks[0]) if len(clicks) > 1 else float("nan"),
        "arrived": (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else float("nan"),
        "p50": pct(webhook, 50), "p99": pct(webhook, 99), "max": webhook[-1],
        "click_p50": pct(click, 50), "click_p99": pct(click, 99),
        "cpu_web": cpu_web, "cpu_worker": cpu_worker,
        "answer_p50": pct(sorted(answered.values()), 50), "answer_p99": pct(sorted(answered.values()), 99),
    }


def run(system: System, rates: list[float], seconds: float) -> dict:
    out: dict = {"floor": floor(system)}
    pool = interleaved(system)
    at = 0
    for rate in rates:
        n = max(2, int(rate * seconds))
        if at + n > len(pool):
            raise RuntimeError(f"propagation at {rate:g}/s needs {n} orders in the shops, {len(pool) - at} left")
        batch, at = pool[at:at + n], at + n
        system.settle()
        out[rate] = measure(system, batch, rate)
        time.sleep(1.0)
    return out
