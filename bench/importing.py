"""Marketplace orders imported and created in the shop per second, against the sandbox shop's
own ceiling: a tight direct client creating the same number of orders with the same number of
threads, in the same run."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bench.table import show

WORKERS = 16


def run(orders: int, latency_ms: int) -> None:
    from adapters.woocommerce.adapter import WooCommerceShop
    from plugin.demo.stack import SHOP_KEYS, running_stack
    from plugin.sync.ports import Address, OrderLine, ShopOrderDraft

    with running_stack(workers=WORKERS) as stack:
        stack.connect()
        faults = {"latency_ms": latency_ms}
        stack.bol.put("/_sandbox/faults", json=faults).raise_for_status()
        stack.woo.put("/_sandbox/faults", json=faults).raise_for_status()
        budget = stack.bol.get("/_sandbox/settings").json()["rate_per_second"]

        # the ceiling: the shop alone, driven as hard as our workers drive it
        shop = WooCommerceShop(stack.woo_url, *SHOP_KEYS, allow_private_hosts=True)
        line = OrderLine("1", "8712345678901", "Bench item", 1, Decimal("9.95"), "BENCH-1")
        drafts = [ShopOrderDraft(f"ceiling-{i}", "bench", f"C{i}", "processing", (line,),
                                 Address(first_name="A", last_name="B", street="Dorpstraat", house_number="1",
                                         zip_code="1234AB", city="Utrecht", country_code="NL"))
                  for i in range(orders)]
        started = time.perf_counter()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(shop.create_order, drafts))
        ceiling = orders / (time.perf_counter() - started)

        # one seller account within bol.com's rate limit (one detail call per new order)
        limited, dup_limited = _import(stack, orders)
        # the same with the limit lifted: what orderbridge itself does
        stack.bol.put("/_sandbox/settings", json={"rate_per_second": 100000, "rate_burst": 100000}).raise_for_status()
        unlimited, dup_unlimited = _import(stack, orders)
        limited_stats = stack.bol.get("/_sandbox/stats").json()

    print("(in-process: both sandboxes, the web app, the webhooks and the workers share one interpreter "
          "and its GIL; the ceiling exercises the shop sandbox alone)")
    show(f"2. import: {orders} bol.com orders -> shop, twice ({WORKERS} worker threads)", [
        ("ceiling: direct creates on the shop, same threads", f"{ceiling:.1f} orders/s"),
        (f"bol.com budget: {budget:g} requests/s per seller account", f"{budget:.1f} orders/s"),
        ("orderbridge within that budget", f"{limited:.1f} orders/s"),
        ("  share of the budget", f"{100 * limited / budget:.0f} %"),
        ("orderbridge, marketplace limit lifted", f"{unlimited:.1f} orders/s"),
        ("  share of the shop's ceiling", f"{100 * unlimited / ceiling:.0f} %"),
        ("429 answers from bol.com (all honoured)", str(limited_stats.get("rate_limited", 0))),
        ("duplicates", str(dup_limited + dup_unlimited)),
    ])


def _import(stack, orders: int) -> tuple[float, int]:
    before = _created(stack)
    ids = stack.seed(orders)
    started = time.perf_counter()
    stack.poll()
    stack.wait_for(lambda: _created(stack) - before >= orders, timeout=600, interval=0.1, what="every order created")
    rate = orders / (time.perf_counter() - started)
    by_ext = stack.shop_orders_by_external()
    return rate, sum(len(by_ext[e]) - 1 for e in ids)


def _created(stack) -> int:
    """Counted in our database: scanning the shop's whole order list would slow the shop."""
    from sqlalchemy import func, select

    from plugin.store import models
    with stack.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(models.Binding).where(models.Binding.state == "created"))
