"""`orderbridge chaos` (`make chaos`): the demo's loop on the production topology while things
break, then a check of what the shop and the marketplace really recorded.

For `--duration` seconds, on PostgreSQL + Redis with gunicorn (2 web workers) and 2 Huey
consumers:
- both sandboxes answer 20 % of API calls 5xx and let 5 % time out (the request still runs);
- bursts of 429 + Retry-After from bol.com (and a few from the shop) every ~15 s;
- the shop redelivers webhooks (same delivery id) and delivers them out of order;
- a supervisor SIGKILLs a random gunicorn worker (gunicorn starts a new one) or Huey consumer
  (started again at once) every 2-5 s.
Then it quiesces (faults and kills stop, every process is up, the heartbeat's sweeps finish the
open work) and checks the sandboxes' own records: every bol.com order exactly once in the shop
(by its `_orderbridge_external_id` meta), every shipped order exactly one shipment accepted on
bol.com with the T&T the merchant entered (an order the merchant shipped in two parcels, one line
with its own T&T and then the rest on completion: exactly those two shipments, each with its items
and T&T), the scenarios' cancellations and return done once,
and nothing left open in orderbridge's database. Exit status 1 on any loss or duplicate.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, or_, select

from plugin.demo.run import DemoOptions, _faults, _ok, _Printer, setup
from plugin.demo.topology import launched


@dataclass
class ChaosOptions:
    orders: int = 200
    duration: float = 180.0       # seconds of faults and kills
    seed: int = 7
    settle: float = 240.0         # after the chaos: how long the quiet loop may take to finish
    # longer than the shop poll (30 s, the safety net for lost webhooks) plus a re-enqueue: a T&T the
    # merchant entered within seconds must reach us before the grace ships without it
    grace: float = 45.0
    error_rate: float = 0.2
    timeout_rate: float = 0.05
    redeliver_rate: float = 0.3
    kill_every: tuple[float, float] = (2.0, 5.0)
    web_workers: int = 2
    consumers: int = 2


@dataclass
class Outcome:
    orders: int
    duplicates: int
    losses: int
    kills: Counter
    faults: dict
    elapsed: float
    problems: list[str]
    partial: tuple[int, int] = (0, 0)   # orders shipped in two parcels: planned, exactly right on bol.com

    @property
    def ok(self) -> bool:
        return self.duplicates == 0 and self.losses == 0


class Supervisor(threading.Thread):
    """SIGKILLs a random web worker or Huey consumer every 2-5 s and starts consumers again
    (gunicorn's master replaces a killed worker itself); every ~15 s a burst of 429s."""

    def __init__(self, stack, demo, opts: ChaosOptions, rng: random.Random):
        super().__init__(name="chaos-supervisor", daemon=True)
        self.stack, self.demo, self.opts, self.rng = stack, demo, opts, rng
        self.kills: Counter = Counter()
        self.bursts = 0
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        next_burst = time.monotonic() + self.rng.uniform(5, 15)
        while not self._halt.wait(self.rng.uniform(*self.opts.kill_every)):
            try:
                self._kill_one()
                if time.monotonic() >= next_burst:
                    self._burst()
                    next_burst = time.monotonic() + self.rng.uniform(10, 20)
            except Exception as exc:   # noqa: BLE001 - keep breaking things; reported at the end
                self.errors.append(f"{exc.__class__.__name__}: {exc}")

    def _kill_one(self) -> None:
        workers = self.stack.workers()
        if self.rng.random() < 0.5:
            pids = self.stack.pids("web")
            if pids:
                self.stack.kill_pid(self.rng.choice(pids))
                self.kills["web worker"] += 1
                return
        name = self.rng.choice(workers)
        self.stack.kill(name)
        self.kills["consumer"] += 1
        self.stack.restart(name)

    def _burst(self) -> None:
        _ok(self.demo.bol.put("/_sandbox/faults", json={"rate_limit_burst": self.rng.randint(5, 15),
                                                        "rate_limit_retry_after": self.rng.choice([1, 2, 3])}))
        _ok(self.demo.shop.put("/_sandbox/faults", json={"rate_limit": self.rng.randint(2, 5),
                                                         "retry_after": self.rng.choice([1, 2])}))
        self.bursts += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def play_chaos(opts: ChaosOptions) -> Outcome:
    started = time.monotonic()
    root = Path(os.environ.get("ORDERBRIDGE_VAR_DIR", "var")).resolve()
    run_dir = root / "chaos"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    say = _Printer()
    rng = random.Random(opts.seed)
    with launched("prod", var_dir=run_dir, web_workers=opts.web_workers, consumers=opts.consumers,
                  verbose=bool(os.environ.get("ORDERBRIDGE_DEMO_VERBOSE"))) as stack:
        say.line(f"orderbridge chaos: {opts.orders} orders on PostgreSQL + Redis, gunicorn with "
                 f"{opts.web_workers} workers, {opts.consumers} Huey consumers; {opts.duration:g} s of "
                 f"{opts.error_rate:.0%} 5xx, {opts.timeout_rate:.0%} timeouts, 429 bursts, redelivered and "
                 f"reordered webhooks and a SIGKILL every {opts.kill_every[0]:g}-{opts.kill_every[1]:g} s; "
                 f"seed {opts.seed}")
        demo = setup(stack, DemoOptions(orders=opts.orders, grace=opts.grace, seed=opts.seed), say)
        _faults(demo.bol, demo.shop, DemoOptions(error_rate=opts.error_rate, timeout_rate=opts.timeout_rate))
        _ok(demo.shop.put("/_sandbox/faults", json={"redeliver_rate": opts.redeliver_rate, "reorder": True}))
        supervisor = Supervisor(stack, demo, opts, rng)
        demo.start(DemoOptions(), say)
        supervisor.start()
        chaos_until = time.monotonic() + opts.duration
        try:
            while time.monotonic() < chaos_until:
                _step(demo, say)
                time.sleep(1.0)
        finally:
            supervisor.stop()
        say.end_progress()
        say.line(f"quiescing after {time.monotonic() - started:.0f} s: {sum(supervisor.kills.values())} kills; "
                 f"faults off, every process up, letting the sweeps finish")
        _quiesce(stack, demo, opts)
        settle_until = time.monotonic() + opts.settle
        while time.monotonic() < settle_until:
            snap = _step(demo, say)
            if (snap.converged() and demo.merchant.done and demo.scenarios.done
                    and not _open_work(demo.ctx.db)):
                break
            time.sleep(1.0)
        demo.merchant.stop()
        say.end_progress()
        outcome = _outcome(demo, supervisor, time.monotonic() - started)
        say.line(report(outcome))
        if not outcome.ok:
            say.line(f"logs in {run_dir / 'logs'}")
        return outcome


def _step(demo, say):
    demo.tick(time.monotonic())
    snap = demo.snapshot()
    demo.scenarios.step(snap)
    say.progress(snap)
    return snap


def _quiesce(stack, demo, opts: ChaosOptions) -> None:
    _ok(demo.bol.put("/_sandbox/faults", json={"error_rate": 0, "timeout_rate": 0, "rate_limit_burst": 0}))
    _ok(demo.shop.put("/_sandbox/faults", json={"error_rate": 0, "timeout_rate": 0, "rate_limit": 0,
                                                "redeliver_rate": 0, "reorder": False}))
    for name, proc in list(stack.group.procs.items()):
        if proc.poll() is not None:
            stack.restart(name)
    # a web worker killed just now is being replaced by gunicorn's master
    deadline = time.monotonic() + 10
    while len(stack.pids("web")) < opts.web_workers and time.monotonic() < deadline:
        time.sleep(0.2)


def _open_work(db) -> dict[str, int]:
    """What orderbridge's own database still has open (must be nothing once it has settled)."""
    from plugin.store import models
    from plugin.store.orders import OPEN_CANCELLATION
    with db.session() as s:
        counts = {
            "bindings not created": s.scalar(select(func.count()).select_from(models.Binding)
                                             .where(models.Binding.state.in_(("new", "creating")))),
            "shipments not done": s.scalar(select(func.count()).select_from(models.Shipment)
                                           .where(models.Shipment.state.in_(("pending", "sending", "submitted")))),
            "cancellations open": s.scalar(select(func.count()).select_from(models.Cancellation)
                                           .where(models.Cancellation.state.in_(OPEN_CANCELLATION))),
            "returns open": s.scalar(select(func.count()).select_from(models.Return).where(or_(
                models.Return.shop_state.in_(("pending", "sending")),
                models.Return.handle_state.in_(("pending", "sending", "submitted"))))),
            "stock updates open": s.scalar(select(func.count()).select_from(models.StockUpdate)
                                           .where(models.StockUpdate.state.in_(("pending", "sending")))),
            "webhooks unprocessed": s.scalar(select(func.count()).select_from(models.WebhookDelivery)
                                             .where(models.WebhookDelivery.processed_at.is_(None))),
            "orders in error": s.scalar(select(func.count()).select_from(models.Order)
                                        .where(models.Order.status == "error")),
        }
    return {k: v for k, v in counts.items() if v}


def _outcome(demo, supervisor: Supervisor, elapsed: float) -> Outcome:
    snap = demo.snapshot()
    open_work = _open_work(demo.ctx.db)
    problems: list[str] = []
    not_created = snap.seeded - snap.created_in_shop
    not_shipped = max(0, snap.to_ship - snap.shipped_ok)
    if not_created:
        missing = sorted(demo.seeded_ids - set(snap.shop_order_by_external))[:10]
        problems.append(f"{not_created} bol.com orders never reached the shop: {', '.join(missing)}")
    if not_shipped:
        problems.append(f"{not_shipped} completed orders are not (fully) shipped on bol.com")
    problems += snap.problems()
    problems += [f"still open in orderbridge's database: {n} {what}" for what, n in open_work.items()]
    scenario_losses = 0
    if snap.scenarios:
        scenario_losses += max(0, snap.buyer_planned - snap.buyer_on_bol) + max(0, snap.shop_planned - snap.shop_on_bol)
        if snap.return_wanted:
            scenario_losses += int(snap.returns_handled != 1)
        scenario_losses += snap.offers_total - snap.offers_ok
    losses = (not_created + not_shipped + len(snap.wrong_tracking) + len(snap.stray)
              + sum(open_work.values()) + scenario_losses)
    bol_stats = demo.bol.get("/_sandbox/stats").json()
    shop_stats = demo.shop.get("/_sandbox/stats").json().get("counters", {})
    deliveries = demo.shop.get("/_sandbox/deliveries", params={"kind": "delivery"}).json()
    faults = {
        "bol.com 5xx": bol_stats.get("injected_5xx", 0),
        "bol.com timeouts": bol_stats.get("injected_timeouts", 0),
        "bol.com 429": bol_stats.get("rate_limited", 0),
        "shop 5xx": shop_stats.get("fault_error", 0),
        "shop timeouts": shop_stats.get("fault_timeout", 0),
        "shop 429": shop_stats.get("fault_rate_limited", 0),
        "webhooks redelivered": sum(1 for d in deliveries if d.get("redelivery")),
        "webhooks out of order": _out_of_order(deliveries),
        "webhooks failed (web worker killed / 5xx)": sum(1 for d in deliveries if not d.get("success")),
        "429 bursts": supervisor.bursts,
    }
    if supervisor.errors:
        problems.append(f"the supervisor stumbled {len(supervisor.errors)} times, last: {supervisor.errors[-1]}")
    return Outcome(orders=snap.seeded, duplicates=snap.duplicates, losses=losses, kills=supervisor.kills,
                   faults=faults, elapsed=elapsed, problems=problems,
                   partial=(snap.partial_planned, snap.partial_ok))


def _out_of_order(deliveries: list[dict]) -> int:
    """Deliveries sent after one that was queued later than them."""
    latest, count = 0.0, 0
    for d in sorted(deliveries, key=lambda d: d.get("seq") or 0):
        if d.get("redelivery") or d.get("enqueued_at") is None:
            continue
        if d["enqueued_at"] < latest:
            count += 1
        latest = max(latest, d["enqueued_at"])
    return count


def report(outcome: Outcome) -> str:
    rows = [("orders", outcome.orders),
            ("partial shipments: orders / right", f"{outcome.partial[0]} / {outcome.partial[1]}"),
            ("kills", f"{sum(outcome.kills.values())} ("
                      + ", ".join(f"{n} {what}" for what, n in sorted(outcome.kills.items())) + ")")]
    rows += [(f"faults: {what}", n) for what, n in outcome.faults.items()]
    rows += [("duplicates", outcome.duplicates), ("losses", outcome.losses),
             ("elapsed", f"{outcome.elapsed:.1f} s")]
    width = max(len(r[0]) for r in rows)
    value_width = max(10, *(len(str(r[1])) for r in rows))
    line = "+" + "-" * (width + 2) + "+" + "-" * (value_width + 2) + "+"
    out = [line] + [f"| {name:<{width}} | {value!s:>{value_width}} |" for name, value in rows] + [line]
    out.append("PASS: every order once in the shop, every shipment once on bol.com, nothing left open"
               if outcome.ok else "FAIL:")
    out += [f"  {p}" for p in outcome.problems[:30]]
    return "\n".join(out)

