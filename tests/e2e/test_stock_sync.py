"""Stock, shop -> marketplace: a product change reaches its offer; values net of reservations and
the buffer; not-listed products are Skipped; the reconcile corrects; lost answers and killed
workers lose nothing; a burst of changes coalesces under the marketplace's rate limit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from adapters.errors import TimedOut
from plugin.store import models
from plugin.sync.reconcile_stock import reconcile_stock
from plugin.sync.sync_stock import push_stock
from tests.e2e.sandbox_helpers import (
    add_offers,
    add_products,
    bol_stats,
    ean,
    links,
    no_reconcile,
    offer_amounts,
    set_buffer,
    set_faults,
    set_shop_stock,
    shop_stock,
    stock_patches,
    stock_rows,
)

pytestmark = pytest.mark.e2e

STOCK_ON = {"stock_sync": True, "stock_match_by": "ean"}


def _catalog(stack, n: int, *, stock: int = 10, offer_stock: int = 0, listed: int | None = None):
    specs = [{"sku": f"SKU-{i}", "ean": ean(i), "stock": stock} for i in range(n)]
    products = add_products(stack, specs)
    add_offers(stack, [{"ean": p["ean"], "reference": p["sku"], "stock": offer_stock}
                       for p in specs[:n if listed is None else listed]])
    return products


def _connect(stack, **settings):
    stack.connect(settings={**STOCK_ON, **settings})
    no_reconcile(stack)


def test_a_product_change_reaches_its_offer(stack):
    _connect(stack)
    [product] = _catalog(stack, 1)
    set_shop_stock(stack, product["id"], 7)
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 7, what="bol offer stock 7")
    link = stack.wait_for(lambda: (row := links(stack).get(product["id"])) and row.stock_status == "sent" and row,
                          what="link sent")
    assert (link.last_amount, link.listed, link.match_key) == (7, True, ean(0))
    assert link.last_sent_at is not None
    [patch] = stock_patches(stack)
    assert patch["body"] == {"stock": {"amount": 7, "managedByRetailer": True}}


def test_the_value_is_net_of_orders_not_yet_in_the_shop_and_of_the_buffer(stack):
    _connect(stack)
    [product] = _catalog(stack, 1, stock=10)
    [offer] = [o for o in stack.bol.get("/_sandbox/offers").json()["offers"] if o["ean"] == ean(0)]
    set_buffer(stack, 1)
    # the new product's own webhook may push its stock (10, or 9 with the buffer) before any order:
    # let it, and count what is sent from here on
    stack.wait_quiet()
    before = len(stock_patches(stack))
    set_faults(stack.woo, error_rate=1.0)            # the order cannot reach the shop for now
    from tests.e2e.sandbox_helpers import seed_from_offers
    ext = seed_from_offers(stack, [{"offer_id": offer["offerId"], "quantity": 2}])
    stack.poll()
    stack.wait_for(lambda: ext in stack.order_rows(), what="order imported")
    set_faults(stack.woo, error_rate=0.0)
    # still not in the shop (its retry waits a backoff): 10 in the shop - 2 reserved - 1 buffer
    set_shop_stock(stack, product["id"], 10)
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 7, what="10 - 2 reserved - 1 buffer")
    # the order reaches the shop: the shop's stock drops by 2 and the reservation ends: still 7
    stack.wait_for(lambda: stack.tick() or stack.shop_orders_by_external().get(ext), timeout=30,
                   what="order created in the shop")
    stack.wait_for(lambda: shop_stock(stack)[product["id"]] == 8, what="shop stock 8")
    stack.wait_quiet()
    assert offer_amounts(stack)[ean(0)] == 7
    assert [p["body"]["stock"]["amount"] for p in stock_patches(stack)[before:]] == [7]   # nothing changed: not sent again


def test_never_below_zero(stack):
    _connect(stack)
    [product] = _catalog(stack, 1, stock=3, offer_stock=5)
    set_buffer(stack, 5)
    set_shop_stock(stack, product["id"], 2)
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 0, what="0, not -3")


def test_products_not_listed_are_skipped_not_errors(stack):
    _connect(stack)
    products = _catalog(stack, 2, listed=1)
    for p in products:
        set_shop_stock(stack, p["id"], 4)
    stack.wait_for(lambda: links(stack).get(products[1]["id"]) and links(stack)[products[1]["id"]].stock_status
                   == "skipped", what="second product skipped")
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 4, what="first product sent")
    skipped = links(stack)[products[1]["id"]]
    assert not skipped.listed and skipped.offer_id is None and "not listed" in skipped.skip_reason
    assert [r.state for r in stock_rows(stack) if r.link_id == skipped.id] == ["skipped"]


def test_stock_sync_off_sends_nothing(stack):
    _connect(stack, stock_sync=False)
    [product] = _catalog(stack, 1, offer_stock=3)
    set_shop_stock(stack, product["id"], 9)
    stack.wait_quiet()
    assert stock_patches(stack) == [] and links(stack) == {}


def test_the_reconcile_compares_and_corrects(stack):
    """No webhook at all (the changes happened while nobody listened): the reconcile links the
    offers, Skips the unlisted product and corrects only what differs."""
    _connect(stack)
    stack.pause_webhooks()
    products = _catalog(stack, 3, stock=6, offer_stock=6, listed=2)
    set_shop_stock(stack, products[0]["id"], 2)       # differs from bol's 6 now
    result = reconcile_stock(stack.ctx, stack.connection_id)
    assert (result.products, result.listed, result.skipped, result.queued) == (3, 2, 1, 1)
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 2, what="corrected")
    assert offer_amounts(stack)[ean(1)] == 6
    assert [p["body"]["stock"]["amount"] for p in stock_patches(stack)] == [2]   # the right one needed no call
    by_product = links(stack)
    assert by_product[products[1]["id"]].stock_status == "in_sync"
    assert by_product[products[2]["id"]].stock_status == "skipped"
    # a second reconcile finds nothing to correct
    assert reconcile_stock(stack.ctx, stack.connection_id).queued == 0


def test_the_reconcile_runs_from_the_heartbeat(stack):
    stack.connect(settings={**STOCK_ON, "stock_reconcile_seconds": 60})
    stack.pause_webhooks()
    _catalog(stack, 1, stock=5, offer_stock=1)
    stack.wait_for(lambda: stack.tick() or offer_amounts(stack)[ean(0)] == 5, what="reconciled by the heartbeat")


# ---------------------------------------------------------------- crash safety
def test_the_answer_of_a_stock_update_is_lost(stack):
    """bol applies the PATCH and answers 500: sent again (idempotent), the offer ends right, the
    link says sent."""
    _connect(stack)
    [product] = _catalog(stack, 1)
    set_faults(stack.bol, offer_fail_after_commit_next=1)
    set_shop_stock(stack, product["id"], 3)
    link = stack.wait_for(lambda: (row := links(stack).get(product["id"])) and row.stock_status == "sent" and row,
                          timeout=30, what="sent after the lost answer")
    assert link.last_amount == 3 and offer_amounts(stack)[ean(0)] == 3
    assert [p["body"]["stock"]["amount"] for p in stock_patches(stack)] == [3, 3]


class _LateCommit:
    """The real adapter, except that its first stock update takes effect on bol and then gets no
    answer in time (TimedOut): the request may still be running when we give up."""

    def __init__(self, inner, calls):
        self._inner, self._calls = inner, calls

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def update_stock(self, request):
        self._calls.append(request.amount)
        result = self._inner.update_stock(request)
        if len(self._calls) == 1:
            raise TimedOut("PATCH /retailer/offers: timeout (ReadTimeout)")
        return result


def test_a_timed_out_stock_update_holds_the_offer_for_the_in_flight_horizon(stack, monkeypatch):
    """No answer in time: the PATCH may still land. Nothing newer for that offer is sent before
    the in-flight horizon (3 s here), so a late old value can never overwrite a newer one."""
    real, calls = stack.ctx.adapters.marketplace, []
    monkeypatch.setattr(stack.ctx.adapters, "marketplace", lambda conn: _LateCommit(real(conn), calls))
    _connect(stack)
    [product] = _catalog(stack, 1)
    set_shop_stock(stack, product["id"], 4)
    held = stack.wait_for(lambda: (row := links(stack).get(product["id"])) and row.hold_until and row,
                          what="offer held after the timeout")
    set_shop_stock(stack, product["id"], 6)
    stack.wait_for(lambda: offer_amounts(stack)[ean(0)] == 6, what="newest value after the horizon")
    first, *later = stock_patches(stack)
    assert first["body"]["stock"]["amount"] == 4 and later
    assert all(p["received_at"] - first["received_at"] >= 2.5 for p in later), (first, later)
    assert links(stack)[product["id"]].hold_until is None and held.hold_until is not None


def test_a_worker_killed_mid_push_is_taken_over_after_its_lease(stack):
    """The state a killed pusher leaves: the update `sending`, the connection's lease held. Once
    the lease (call + in-flight horizon) is over, the next pusher sends it again."""
    _connect(stack)
    stack.pause_webhooks()
    [product] = _catalog(stack, 1, offer_stock=0)
    set_shop_stock(stack, product["id"], 5)
    from plugin.sync.sync_stock import note_product_change
    from tests.e2e.sandbox_helpers import held
    shop_product = stack.ctx.adapters.shop(_shop(stack)).get_product(product["id"])
    assert note_product_change(held(stack), stack.shop_id, shop_product) == 1
    now = stack.ctx.clock()
    with stack.ctx.db.session() as s:
        s.execute(update(models.StockUpdate).values(state="sending", attempts=1))
        s.execute(update(models.Connection).values(stock_lease_until=now + timedelta(seconds=60)))
    assert push_stock(stack.ctx, stack.connection_id) == "busy"          # the dead worker's lease
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(stock_lease_until=now - timedelta(seconds=1)))
    assert push_stock(stack.ctx, stack.connection_id) == "drained"
    assert offer_amounts(stack)[ean(0)] == 5
    assert [r.state for r in stock_rows(stack)] == ["sent"]


def test_a_lost_push_job_is_found_again_by_the_heartbeat(stack):
    _connect(stack)
    stack.pause_webhooks()
    [product] = _catalog(stack, 1)
    set_shop_stock(stack, product["id"], 8)
    from plugin.sync.sync_stock import note_product_change
    from tests.e2e.sandbox_helpers import held
    shop_product = stack.ctx.adapters.shop(_shop(stack)).get_product(product["id"])
    note_product_change(held(stack), stack.shop_id, shop_product)     # its hint is lost
    time.sleep(2.2)                                                    # outbox_retry_seconds=2
    stack.wait_for(lambda: stack.tick() or offer_amounts(stack)[ean(0)] == 8, what="swept and sent")


def _shop(stack):
    with stack.ctx.db.session() as s:
        return s.get(models.Shop, stack.shop_id)


# ---------------------------------------------------------------- the burst
BURST_PRODUCTS = 50
BURST_CHANGES = 10_000
BURST_SECONDS = 20.0
BURST_RATE = 5          # stock updates a second bol allows this seller (burst as many)


def test_a_burst_of_product_changes_coalesces_under_the_rate_limit(stack):
    """10,000 merchant stock changes over 50 offers, each its own save and product.updated (a
    stock import): bol ends with the last value of every offer, far fewer PATCHes than changes,
    and no 429 storm."""
    _connect(stack)
    products = _catalog(stack, BURST_PRODUCTS, stock=100)
    # bol's stock-update budget, tight: the pusher must wait out 429s while changes keep coming
    stack.bol.put("/_sandbox/settings", json={"group_rates": {"offer-updates": {
        "rate_per_second": BURST_RATE, "rate_burst": BURST_RATE}}}).raise_for_status()
    ids = [p["id"] for p in products]
    last: dict[int, int] = {}
    made = 0
    started = time.monotonic()
    # in chunks of 500 over a few seconds, so the deliveries and the pusher run while changes land
    for chunk_start in range(0, BURST_CHANGES, 500):
        chunk = [[ids[i % len(ids)], (i * 7919) % 500] for i in range(chunk_start, min(chunk_start + 500, BURST_CHANGES))]
        response = stack.woo.post("/_sandbox/products/stock-changes", json={"changes": chunk})
        response.raise_for_status()
        assert response.json()["applied"] == len(chunk)
        for pid, value in chunk:
            last[pid] = value
        made += len(chunk)
        time.sleep(0.1)
    changes_seconds = time.monotonic() - started
    expected = {ean(i): shop_stock(stack)[pid] for i, pid in enumerate(ids)}
    assert {ean(i): last[pid] for i, pid in enumerate(ids)} == expected

    def converged():
        return offer_amounts(stack) == expected
    stack.wait_for(lambda: stack.tick() or converged(), timeout=120, interval=0.5, what="every offer at its last value")
    drained = time.monotonic() - started
    patches = stock_patches(stack)                       # the PATCHes that reached the offers
    stats = bol_stats(stack)
    calls = sum(n for key, n in stats["requests"].items() if key.startswith("PATCH /retailer/offers"))
    throttled = stats["rate_limited"]
    with stack.ctx.db.session() as s:
        webhooks = s.scalar(select(func.count()).select_from(models.WebhookDelivery)
                            .where(models.WebhookDelivery.topic == "product.updated"))
    print(f"\nSTOCK BURST: {made} changes in {changes_seconds:.1f} s over {BURST_PRODUCTS} offers "
          f"({webhooks} product.updated deliveries: the shop coalesces its own queue) -> "
          f"{calls} stock calls to bol ({len(patches)} applied, {throttled} answered 429 under a {BURST_RATE}/s "
          f"budget), {made / max(1, calls):.0f}x fewer calls than changes; final values correct on "
          f"{sum(offer_amounts(stack)[k] == v for k, v in expected.items())}/{BURST_PRODUCTS} offers, "
          f"converged {drained:.1f} s after the first change; "
          f"{sum(r.state == 'superseded' for r in stock_rows(stack))} pending values superseded before sending")
    assert converged()
    assert calls < made / 5
    # one throttled call per pause at most (the pusher waits out Retry-After), never a storm
    assert throttled <= len(patches) // 2 + 1


def test_ten_thousand_triggers_each_change_its_own_coalesce_in_our_outbox(stack):
    """The shop above coalesces its own webhook queue; here it does not help: every one of 10,000
    changes (or as many as fit in ~20 s) arrives as its own trigger (what processing one
    product.updated delivery does), 8 at a time, while the pusher drains under a tight budget.
    Our outbox alone keeps one pending value per offer: bol ends with every last value, with far
    fewer calls than changes."""
    from plugin.sync.ports import ShopProduct
    from plugin.sync.sync_stock import note_product_change
    _connect(stack)
    stack.pause_webhooks()
    products = _catalog(stack, BURST_PRODUCTS, stock=100)
    stack.bol.put("/_sandbox/settings", json={"group_rates": {"offer-updates": {
        "rate_per_second": BURST_RATE, "rate_burst": BURST_RATE}}}).raise_for_status()
    ids = [p["id"] for p in products]
    state = stack.woo_state
    started = time.monotonic()
    made = [0] * 8

    def worker(k: int) -> None:          # thread k owns products k, k+8, ...: each product's changes in order
        mine = ids[k::8]
        for i in range(BURST_CHANGES // 8):
            if time.monotonic() - started > BURST_SECONDS:
                return
            pid = mine[i % len(mine)]
            value = (i * 7919 + k) % 500
            with state.lock:             # the merchant's save, as the shop stores it
                state.products[pid].stock_quantity = value
            note_product_change(stack.ctx, stack.shop_id, ShopProduct(pid, None, f"SKU-{ids.index(pid)}",
                                                                      ean(ids.index(pid)), value))
            made[k] += 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    changes_seconds = time.monotonic() - started
    expected = {ean(i): shop_stock(stack)[pid] for i, pid in enumerate(ids)}
    stack.wait_for(lambda: stack.tick() or offer_amounts(stack) == expected, timeout=120, interval=0.5,
                   what="every offer at its last value")
    stats = bol_stats(stack)
    calls = sum(n for key, n in stats["requests"].items() if key.startswith("PATCH /retailer/offers"))
    rows = stock_rows(stack)
    superseded = sum(r.state == "superseded" for r in rows)
    print(f"\nSTOCK TRIGGERS: {sum(made)} changes, each its own trigger, in {changes_seconds:.1f} s over "
          f"{BURST_PRODUCTS} offers -> {len(rows)} outbox rows ({superseded} superseded), {calls} stock calls to bol "
          f"({stats['rate_limited']} answered 429 under a {BURST_RATE}/s budget), "
          f"{sum(made) / max(1, calls):.0f}x fewer calls than changes; final values correct on "
          f"{sum(offer_amounts(stack)[k] == v for k, v in expected.items())}/{BURST_PRODUCTS} offers, "
          f"converged {time.monotonic() - started:.1f} s after the first change")
    assert calls < sum(made) / 5
    assert stats["rate_limited"] <= calls // 2 + 1
