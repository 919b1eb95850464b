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

        # the ceiling: the shop alone, driven as hard as our workers drive it
        shop = WooCommerceShop(stack.woo_url, *SHOP_KEYS)
        line = OrderLine("1", "8712345678901", "Bench item", 1, Decimal("9.95"), "BENCH-1")
        drafts = [ShopOrderDraft(f"ceiling-{i}", "bench", f"C{i}", "processing", (line,),
                                 Address(first_name="A", last_name="B", street="Dorpstraat", house_number="1",
                                         zip_code="1234AB", city="Utrecht", country_code="NL"))
                  for i in range(orders)]
        started = time.perf_counter()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(shop.create_order, drafts))
        ceiling = orders / (time.perf_counter() - started)

        ids = stack.seed(orders)
        started = time.perf_counter()
        stack.poll()
        stack.wait_for(lambda: _created(stack) >= orders, timeout=600, interval=0.1, what="every order created")
        ours = orders / (time.perf_counter() - started)
        by_ext = stack.shop_orders_by_external()
        duplicates = sum(len(by_ext[e]) - 1 for e in ids)

    print("(in-process: both sandboxes, the web app, the webhooks and the workers share one interpreter "
          "and its GIL; the ceiling exercises the shop sandbox alone)")
    show(f"2. import: {orders} bol.com orders -> shop ({WORKERS} worker threads)", [
        ("orderbridge: poll + detail + create", f"{ours:.1f} orders/s"),
        ("ceiling: direct create, same threads", f"{ceiling:.1f} orders/s"),
        ("orderbridge / ceiling", f"{100 * ours / ceiling:.0f} %"),
        ("duplicates", str(duplicates)),
    ])


def _created(stack) -> int:
    """Counted in our database: scanning the shop's whole order list would slow the shop."""
    from sqlalchemy import func, select

    from plugin.store import models
    with stack.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(models.Binding).where(models.Binding.state == "created"))
