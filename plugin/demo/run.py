"""`orderbridge run`: the seeds' loop, end to end, on the sandboxes.

bol.com sandbox gets N orders -> orderbridge (web + worker processes) pulls them and creates each
once in the WooCommerce sandbox -> the merchant completes them (T&T now, later or never) -> the
shop's signed webhooks reach orderbridge -> shipments are pushed to bol.com and followed to
SUCCESS. Around it (plugin/demo/scenarios.py): the orders are of a small catalog whose stock
orderbridge keeps on bol.com's offers, two buyers cancel on bol.com, the merchant cancels two
orders in the shop, and a buyer returns an item the merchant then refunds. The run owns its
database (var/demo/), so it can be played again and again.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from plugin.demo.merchant import Merchant
from plugin.demo.report import table, take
from plugin.demo.scenarios import Scenarios, catalog
from plugin.demo.topology import TIMEOUT_SLEEP, Launched, launched

DEMO_PORTS = {"bol": 8701, "woocommerce": 8702, "web": 8700}   # when free
SELLER = ("demo-seller", "demo-seller-secret")
ADMIN_SELLER = ("your-seller", "your-seller-secret")   # for the merchant to add in the browser
SHOP_KEYS = ("ck_demo0000000000000000000000000000000000", "cs_demo0000000000000000000000000000000000")
PRODUCTS = 8            # the demo shop's catalog, each product offered on bol.com


@dataclass
class DemoOptions:
    orders: int = 50
    pace: float = 0.0
    grace: float = 15.0
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    rate_limit_burst: int = 0
    seed: int = 7
    deadline: float | None = None
    exit_after: bool = True
    topology: str = "embedded"


def play(opts: DemoOptions) -> bool:
    started = time.monotonic()
    if opts.deadline is None:
        faulty = opts.error_rate or opts.timeout_rate or opts.rate_limit_burst or opts.latency_ms
        opts.deadline = 300.0 if faulty else 110.0
    root = Path(os.environ.get("ORDERBRIDGE_VAR_DIR", "var")).resolve()
    run_dir = root / "demo"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    say = _Printer()
    # logs/ gets what the web app and the workers did (ORDERBRIDGE_DEMO_VERBOSE=1 for every job)
    with launched(opts.topology, var_dir=run_dir, env=_embedded_overrides() if opts.topology == "embedded" else None,
                  ports=DEMO_PORTS, verbose=bool(os.environ.get("ORDERBRIDGE_DEMO_VERBOSE"))) as stack:
        say.line(f"orderbridge demo ({_describe(stack)}): {opts.orders} orders, grace {opts.grace:g} s, "
                 f"seed {opts.seed}")
        demo = setup(stack, opts, say)
        _faults(demo.bol, demo.shop, opts)
        demo.start(opts, say)
        while True:
            now = time.monotonic()
            demo.tick(now)
            stack.group.check_alive()
            snap = demo.snapshot()
            demo.scenarios.step(snap)
            say.progress(snap)
            if snap.converged() and demo.merchant.done and demo.scenarios.done:
                break
            if now - started > opts.deadline:
                break
            time.sleep(0.5)
        demo.merchant.stop()
        elapsed = time.monotonic() - started
        snap = demo.snapshot()
        ok = snap.converged()
        say.end_progress()
        say.line(table(snap, elapsed))
        if ok:
            say.line("converged: every order created once in the shop and shipped once on bol.com"
                     + (f" ({snap.partial_planned} in two parcels, two shipments each)" if snap.partial_planned else "")
                     + ("; cancellations, the return and every offer's stock once each on both sides"
                        if snap.scenarios else ""))
        else:
            say.line("NOT converged within the deadline:")
            for problem in snap.problems():
                say.line(f"  {problem}")
            say.line(f"  order statuses {dict(snap.statuses)}, shipments {dict(snap.shipments)}; "
                     f"logs in {run_dir / 'logs'}")
            if demo.merchant.errors:
                say.line(f"  the simulated merchant could not reach the shop {len(demo.merchant.errors)} times, "
                         f"last: {demo.merchant.errors[-1]}")
            if demo.scenarios.errors:
                say.line(f"  the scenarios could not act {len(demo.scenarios.errors)} times, "
                         f"last: {demo.scenarios.errors[-1]}")
        if not opts.exit_after:
            # a second seller account with orders waiting, for the merchant to connect in the admin
            _ok(demo.bol.post("/_sandbox/sellers", json={"client_id": ADMIN_SELLER[0], "client_secret": ADMIN_SELLER[1]}))
            _ok(demo.bol.post("/_sandbox/orders", json={"client_id": ADMIN_SELLER[0], "count": 5}))
            _serve_until_interrupted(say, stack.urls)
        return ok


def _embedded_overrides() -> dict:
    """`ORDERBRIDGE_DEMO_DATABASE_URL` / `ORDERBRIDGE_DEMO_REDIS=1` (the test suite's postgres
    backend) run the embedded processes on PostgreSQL / Redis instead of SQLite files."""
    env = {}
    if os.environ.get("ORDERBRIDGE_DEMO_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["ORDERBRIDGE_DEMO_DATABASE_URL"]
    if os.environ.get("ORDERBRIDGE_DEMO_REDIS") and os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def _describe(stack: Launched) -> str:
    if stack.topology == "prod":
        return (f"prod: PostgreSQL + Redis, gunicorn with {len(stack.pids('web'))} workers, "
                f"{len(stack.workers())} consumers")
    return "embedded: SQLite + Huey on SQLite, one web and one worker process"


@dataclass
class Demo:
    """The demo's seeded world on a launched stack: the orders on bol.com, the scenarios and the
    simulated merchant (the chaos run plays the same)."""
    stack: Launched
    bol: httpx.Client
    shop: httpx.Client
    ctx: object
    connection_id: int
    seeded_ids: set
    products: list
    scenarios: Scenarios
    merchant: Merchant
    queue: object
    next_tick: float = 0.0

    def start(self, opts: DemoOptions, say) -> None:
        if self.scenarios.buyer_cancel:
            say.line(f"scenarios: buyers cancel {', '.join(self.scenarios.buyer_cancel)} on bol.com, the merchant "
                     f"cancels {', '.join(self.scenarios.shop_cancel)} in the shop, the first order shipped "
                     f"comes back")
        say.line("the merchant ships a few orders of two lines or more in two parcels: one line with its own "
                 "T&T, then the rest on completion with another")
        self.merchant.start()
        self.queue.poll_connection(self.connection_id)   # the first poll now, not at its staggered slot

    def tick(self, now: float) -> None:
        if now >= self.next_tick:       # the demo's heartbeat: production ticks once a minute
            self.queue.dispatch()
            self.next_tick = now + 1.0

    def snapshot(self):
        return take(self.bol, self.shop, self.ctx.db, self.seeded_ids, self.merchant.plans, self.scenarios)


def setup(stack: Launched, opts: DemoOptions, say) -> Demo:
    """Sellers, keys, the catalog, the connection and the seeded orders on a launched stack."""
    urls = stack.urls
    bol = httpx.Client(base_url=urls["bol"], timeout=15)
    shop = httpx.Client(base_url=urls["woocommerce"], timeout=15)
    _ok(bol.post("/_sandbox/sellers", json={"client_id": SELLER[0], "client_secret": SELLER[1]}))
    _ok(shop.post("/_sandbox/keys", json={"consumer_key": SHOP_KEYS[0], "consumer_secret": SHOP_KEYS[1]}))
    # a wrong starting stock on bol.com (0): orderbridge's first reconcile corrects it
    products = catalog(bol, shop, SELLER[0], PRODUCTS, stock=20 + opts.orders)
    ctx = stack.ctx
    connection_id = _connect(ctx, urls, opts)
    seeded = _ok(bol.post("/_sandbox/orders", json={"client_id": SELLER[0], "count": opts.orders,
                                                    "from_offers": True})).json()
    seeded_ids = set(seeded["order_ids"])
    say.line(f"bol.com sandbox received {len(seeded_ids)} new orders of {len(products)} products; "
             f"orderbridge is polling")
    queue = ctx.queue
    cancels = 2 if opts.orders >= 8 else 1 if opts.orders >= 4 else 0
    scenarios = Scenarios.choose(
        list(seeded_ids), opts.seed, cancels, bol=bol, shop=shop, seller=SELLER[0], shop_keys=SHOP_KEYS,
        item_ids=seeded["order_item_ids"], products=products,
        recheck_order=lambda external_id: queue.import_order(connection_id, external_id),
        # returns are polled hourly by default (at least every minute): the demo asks now
        poll_returns=lambda: queue.poll_returns(connection_id))
    merchant = Merchant(urls["woocommerce"], seed=opts.seed, pace=opts.pace, grace=opts.grace,
                        skip=scenarios.skip)
    return Demo(stack, bol, shop, ctx, connection_id, seeded_ids, products, scenarios, merchant, queue)


def _connect(ctx, urls: dict, opts: DemoOptions) -> int:
    from plugin.sync.connect import add_connection, register_shop
    shop_id = register_shop(ctx, {
        "name": "Demo shop", "url": urls["woocommerce"],
        "consumer_key": SHOP_KEYS[0], "consumer_secret": SHOP_KEYS[1],
        "settings": {"grace_seconds": max(1, round(opts.grace)), "shop_poll_seconds": 30,
                     # the shop's stock on bol.com's offers, matched by EAN (WooCommerce's GTIN),
                     # compared and corrected every minute (the shortest the settings allow)
                     "stock_sync": True, "stock_match_by": "ean", "stock_reconcile_seconds": 60,
                     "transporters": {"default": "TNT",
                                      "rules": [{"pattern": "^JVGL", "transporter": "DHLFORYOU", "strip": "JVGL"}]}},
    })
    return add_connection(ctx, shop_id, {
        "marketplace": "bol", "name": "Demo seller", "poll_seconds": 10,
        "credentials": {"client_id": SELLER[0], "client_secret": SELLER[1]},
        "api_url": urls["bol"], "token_url": urls["bol"] + "/token",
    })


def _faults(bol: httpx.Client, shop: httpx.Client, opts: DemoOptions) -> None:
    faults = {"latency_ms": opts.latency_ms, "error_rate": opts.error_rate, "timeout_rate": opts.timeout_rate,
              "timeout_sleep": TIMEOUT_SLEEP}
    _ok(bol.put("/_sandbox/faults", json={**faults, "rate_limit_burst": opts.rate_limit_burst}))
    _ok(shop.put("/_sandbox/faults", json=faults))


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise RuntimeError(f"sandbox said {response.status_code} to {response.request.url.path}: {response.text[:200]}")
    return response


def _serve_until_interrupted(say, urls: dict) -> None:
    say.line("still serving (Ctrl-C stops everything):")
    say.line(f"  orderbridge web      {urls['web']}  (health: {urls['web']}/healthz)")
    say.line("")
    say.line("  Open the merchant's admin: install orderbridge on the sandbox shop in your browser:")
    say.line(f"    {urls['web']}/install?store_url={urls['woocommerce']}")
    say.line("    the sandbox shop's admin login: admin / admin; then Approve")
    say.line(f"    the demo's seller account is connected already; add another one with 5 open orders: "
             f"client id {ADMIN_SELLER[0]}, secret {ADMIN_SELLER[1]}")
    say.line(f"    sign in again later at {urls['web']}/signin with the shop address {urls['woocommerce']}")
    say.line("")
    say.line(f"  sandbox bol.com      {urls['bol']}  (records: {urls['bol']}/_sandbox/shipments)")
    say.line(f"  sandbox WooCommerce  {urls['woocommerce']}  (orders: {urls['woocommerce']}/_sandbox/orders)")
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    try:
        while not stop["flag"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    say.line("stopping")


class _Printer:
    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self._last = 0.0
        self._open = False

    def line(self, text: str) -> None:
        self.end_progress()
        print(text, flush=True)

    def progress(self, snap) -> None:
        text = (f"created {snap.created_in_shop}/{snap.seeded}  waiting {snap.statuses.get('waiting', 0)}  "
                f"shipped {snap.statuses.get('shipped', 0)}  pushed {snap.shipped_ok}  "
                f"errors {snap.statuses.get('error', 0)}  duplicates {snap.duplicates}")
        if snap.scenarios:
            text += (f"  cancelled {snap.buyer_on_bol + snap.shop_on_bol}/{snap.to_cancel}  "
                     f"returned {snap.returns_handled}  offers {snap.offers_ok}/{snap.offers_total}")
        if self.tty:
            print("\r" + text.ljust(100), end="", flush=True)
            self._open = True
        elif time.monotonic() - self._last > 5:
            print(text, flush=True)
            self._last = time.monotonic()

    def end_progress(self) -> None:
        if self._open:
            print(flush=True)
            self._open = False
