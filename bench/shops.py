"""Many WooCommerce sandbox shops in one process, for the benchmarks.

    python -m bench.shops --port P --shops 100 [--latency-ms 40] [--delivery-delay 10-60]

The WooCommerce sandbox is one shop per state (its own orders, keys, webhooks, site URL, and one
webhook delivery worker, like one WordPress site's Action Scheduler). Starting 100 sandbox
processes would take ~4 GB and 100 interpreters fighting over 2 cores, so this process mounts 100
independent sandbox apps under path prefixes: shop i is http://127.0.0.1:P/shop-i (a WordPress
installed in a sub-directory, which WooCommerce supports: REST at /shop-i/wp-json/wc/v3/..., the
OAuth base URL and the webhooks' X-WC-Webhook-Source carry the prefix). Each shop has API key
ck_bench_<i> / cs_bench_<i> and its own delivery worker; nothing is shared between shops but the
interpreter, which is what the benchmark's ceiling measures.

/_bench/ (no auth) reads all shops at once so the bench need not make 100 calls:
  GET /_bench/deliveries?since=T   order.updated deliveries sent at or after T: [{shop, order_id, sent_at}]
  GET /_bench/duplicates           shop orders per marketplace order id, beyond the first
  GET /_bench/stats                {orders, deliveries, deliveries_pending}
"""

from __future__ import annotations

import argparse
from collections import Counter

from flask import Flask, jsonify, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from sandbox.serving import run_until_stopped


def shop_keys(index: int) -> tuple[str, str]:
    return f"ck_bench_{index:04d}{'0' * 26}", f"cs_bench_{index:04d}{'0' * 26}"


def shop_url(base: str, index: int) -> str:
    return f"{base}/shop-{index}"


def build(port: int, shops: int, latency_ms: int, delivery_delay: tuple[float, float] | None = None):
    from sandbox.woocommerce import create_app
    from sandbox.woocommerce.models import meta_get
    from sandbox.woocommerce.state import WooState

    states = []
    mounts = {}
    for i in range(shops):
        # delivery_delay: each webhook waits in the shop's queue as WP-Cron leaves it on a real shop
        state = WooState(seed=i, site_url=shop_url(f"http://127.0.0.1:{port}", i), delivery_delay=delivery_delay)
        state.faults.latency_ms = latency_ms
        state.add_key(*shop_keys(i), "read_write")
        states.append(state)
        mounts[f"/shop-{i}"] = create_app(state)

    root = Flask("bench.shops")

    @root.get("/_bench/deliveries")
    def deliveries():
        since = request.args.get("since", 0.0, type=float)
        out = []
        for i, state in enumerate(states):
            with state.lock:
                rows = [(r["order_id"], r["sent_at"], r["duration"], r["status_code"]) for r in state.deliveries
                        if r["kind"] == "delivery" and r["topic"] == "order.updated" and r["sent_at"] >= since]
            out.extend({"shop": i, "order_id": o, "sent_at": t, "duration": d, "status": c} for o, t, d, c in rows)
        return jsonify(out)

    @root.get("/_bench/duplicates")
    def duplicates():
        extra = 0
        for state in states:
            with state.lock:
                seen = Counter(meta_get(order.meta, "_orderbridge_external_id") for order in state.orders.values())
                seen.pop(None, None)
                extra += sum(n - 1 for n in seen.values() if n > 1)
        return jsonify({"duplicates": extra})

    @root.get("/_bench/stats")
    def stats():
        orders = deliveries_logged = pending = 0
        for state in states:
            with state.lock:
                orders += len(state.orders)
                deliveries_logged += len(state.deliveries)
            pending += state.pending_deliveries()
        return jsonify({"orders": orders, "deliveries": deliveries_logged, "deliveries_pending": pending})

    @root.get("/healthz")
    def health():
        return jsonify({"shops": len(states)})

    return DispatcherMiddleware(root, mounts), states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shops", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--delivery-delay", default="", metavar="LOW-HIGH",
                        help="seconds each webhook waits in the shop's queue (WP-Cron), e.g. 10-60")
    args = parser.parse_args()
    from sandbox.woocommerce.state import parse_delay
    try:
        delay = parse_delay(args.delivery_delay)
    except ValueError as exc:
        parser.error(str(exc))
    app, states = build(args.port, args.shops, args.latency_ms, delay)

    def close_shops():
        for state in states:
            state.close()
    run_until_stopped(app, "127.0.0.1", args.port, f"bench shops: {args.shops} WooCommerce sandbox shops on "
                      "{url}/shop-<i>", on_exit=close_shops, quiet=True)


if __name__ == "__main__":
    main()
