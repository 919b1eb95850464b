"""Shop completes orders at a steady rate -> how long until the marketplace has the shipment,
measured from the shop's webhook delivery to the marketplace's receipt of the shipment call.
Beside it, in the same run: the floor (one direct shipment call to the same sandbox) and
Channable's 5-minute polling model (median 150 s)."""

from __future__ import annotations

import time

from bench.table import pct, show

CHANNABLE_MEDIAN = 150.0


def run(orders: int, rate: float, latency_ms: int) -> None:
    from adapters.bol.adapter import from_config
    from plugin.demo.stack import SELLER, running_stack
    from plugin.sync.ports import ShipmentRequest

    with running_stack(workers=16) as stack:
        stack.connect()
        ids = stack.seed(orders + 20)
        floor_ids, ids = ids[:20], ids[20:]
        faults = {"latency_ms": latency_ms}
        stack.bol.put("/_sandbox/faults", json=faults).raise_for_status()
        stack.woo.put("/_sandbox/faults", json=faults).raise_for_status()

        # the floor: one direct shipment call to the sandbox marketplace, same latency, same run
        direct = from_config({"client_id": SELLER[0], "client_secret": SELLER[1]}, base_url=stack.bol_url)
        floor = []
        for ext in floor_ids:
            order = direct.get_order(ext)
            started = time.perf_counter()
            direct.ship(ShipmentRequest(ext, tuple(line.external_line_id for line in order.lines), f"floor-{ext}",
                                        "TNT", f"3SFLOOR{ext}"))
            floor.append(time.perf_counter() - started)

        stack.poll()
        stack.wait_for(lambda: set(ids) <= set(stack.shop_orders_by_external()), timeout=300,
                       interval=0.5, what="orders created in the shop")
        by_ext = stack.shop_orders_by_external()
        shop_ids = {by_ext[e][0]["id"]: e for e in ids}
        interval = 1.0 / rate
        completed_at: dict[int, float] = {}
        started = time.perf_counter()
        for i, shop_id in enumerate(shop_ids):
            due = started + i * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            completed_at[shop_id] = time.time()
            stack.complete(shop_id, "PostNL", f"3SBENCH{i:010d}")
        stack.wait_for(lambda: sum(1 for s in stack.shipments() if s["status"] == "SUCCESS"
                                   and s["order_id"] in ids) >= len(ids),
                       timeout=300, interval=0.5, what="shipments confirmed")
        received = {s["order_id"]: s["received_at"] for s in stack.shipments() if s["order_id"] in ids}
        # from the delivery that carried the completion: the first one sent after it was made (the
        # shop builds the payload at send time and folds changes into a delivery still queued)
        sent: dict[int, float] = {}
        for d in sorted(stack.deliveries(), key=lambda d: d["seq"]):
            order_id = d.get("order_id")
            if (order_id in completed_at and d.get("topic") == "order.updated"
                    and d["sent_at"] >= completed_at[order_id]):
                sent.setdefault(order_id, d["sent_at"])
        latencies = sorted(received[shop_ids[o]] - t for o, t in sent.items() if shop_ids[o] in received)

    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    floor_p50 = pct(floor, 50)
    show(f"1. propagation: webhook -> marketplace, {len(latencies)} orders completed at {rate:g}/s", [
        ("p50", f"{p50 * 1000:.0f} ms"),
        ("p99", f"{p99 * 1000:.0f} ms"),
        ("max", f"{max(latencies) * 1000:.0f} ms"),
        ("floor: direct shipment call p50", f"{floor_p50 * 1000:.0f} ms"),
        ("p50 / floor", f"{p50 / floor_p50:.1f} x"),
        ("Channable 5-min polling median", f"{CHANNABLE_MEDIAN:.0f} s"),
        ("Channable median / our p50", f"{CHANNABLE_MEDIAN / p50:.0f} x faster"),
    ])
