"""What the demo checks and prints, read from the sandboxes' own records (what the shop and the
marketplace really received) and from orderbridge's database."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from plugin.store import models


@dataclass
class Snapshot:
    seeded: int = 0
    created_in_shop: int = 0
    shop_duplicates: int = 0
    shipment_duplicates: int = 0
    shipped_ok: int = 0
    wrong_tracking: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    shipments: Counter = field(default_factory=Counter)
    ever_waiting: int = 0
    latencies: list[float] = field(default_factory=list)
    shop_order_by_external: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.shop_duplicates + self.shipment_duplicates

    def converged(self) -> bool:
        return (self.seeded > 0 and self.created_in_shop == self.seeded and self.duplicates == 0
                and self.shipped_ok == self.seeded and not self.wrong_tracking
                and self.statuses.get("shipped", 0) == self.seeded
                and self.shipments.get("success", 0) == self.seeded)


def take(bol: httpx.Client, shop: httpx.Client, db, seeded_ids: set[str], plans: dict) -> Snapshot:
    snap = Snapshot(seeded=len(seeded_ids))
    shop_orders = shop.get("/_sandbox/orders").json()
    per_external: Counter = Counter()
    for order in shop_orders:
        meta = {m["key"]: m["value"] for m in order.get("meta_data", [])}
        external = meta.get("_orderbridge_external_id")
        if external in seeded_ids:
            per_external[external] += 1
            snap.shop_order_by_external[external] = order["id"]
    snap.created_in_shop = len(per_external)
    snap.shop_duplicates = sum(n - 1 for n in per_external.values())

    received = bol.get("/_sandbox/shipments").json()["shipments"]
    per_order: Counter = Counter()
    ok_at: dict[str, float] = {}
    for item in received:
        order_id = item["order_id"]
        if order_id not in seeded_ids:
            continue
        per_order[order_id] += 1
        if item.get("status") == "SUCCESS":
            ok_at[order_id] = item["received_at"]
            _check_tracking(snap, order_id, item, plans)
    snap.shipped_ok = len(ok_at)
    snap.shipment_duplicates = sum(n - 1 for n in per_order.values())

    # webhook -> marketplace: from the shop's delivery of the change that shipped the order to
    # the marketplace's receipt of the shipment
    deliveries = shop.get("/_sandbox/deliveries", params={"kind": "delivery"}).json()
    by_order: dict[int, list[float]] = {}
    for d in deliveries:
        if d.get("order_id") is not None and d.get("topic", "").startswith("order."):
            by_order.setdefault(d["order_id"], []).append(d["sent_at"])
    for external, shop_id in snap.shop_order_by_external.items():
        plan = plans.get(shop_id)
        if plan is None or plan.shipped_signal_at is None or external not in ok_at:
            continue
        after = [t for t in by_order.get(shop_id, []) if t >= plan.shipped_signal_at - 0.05]
        if after:
            snap.latencies.append(max(0.0, ok_at[external] - min(after)))

    with db.session() as s:
        snap.statuses = Counter(dict(s.execute(select(models.Order.status, func.count()).group_by(models.Order.status)).all()))
        snap.shipments = Counter(dict(s.execute(select(models.Shipment.state, func.count()).group_by(models.Shipment.state)).all()))
        snap.ever_waiting = s.scalar(select(func.count(func.distinct(models.TimelineEntry.order_id)))
                                     .where(models.TimelineEntry.message.like("waiting:%"))) or 0
    return snap


def _check_tracking(snap: Snapshot, order_id: str, item: dict, plans: dict) -> None:
    shop_id = snap.shop_order_by_external.get(order_id)
    plan = plans.get(shop_id)
    if plan is None:
        return
    transport = (item.get("body") or {}).get("transport")
    late = plan.fate == "later" and (plan.shipped_signal_at is None or plan.shipped_signal_at > item["received_at"])
    if plan.fate == "never" or late:   # no T&T before the grace ran out: shipped without it
        if transport:
            snap.wrong_tracking.append(f"{order_id}: expected no transport, got {transport}")
        return
    expected = {"PostNL": "TNT", "DHL": "DHLFORYOU"}[plan.provider]
    number = plan.number.replace("JVGL", "") if plan.provider == "DHL" else plan.number
    if not transport or transport.get("transporterCode") != expected or transport.get("trackAndTrace") != number:
        snap.wrong_tracking.append(f"{order_id}: expected {expected} {number}, got {transport}")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def table(snap: Snapshot, elapsed: float) -> str:
    def ms(v):
        return "-" if v is None else f"{v * 1000:.0f} ms"
    rows = [
        ("orders seen (bol.com)", snap.seeded),
        ("created in shop", snap.created_in_shop),
        ("duplicates", snap.duplicates),
        ("waiting (went through it)", snap.ever_waiting),
        ("shipped", snap.statuses.get("shipped", 0)),
        ("pushed (bol.com SUCCESS)", snap.shipped_ok),
        ("failed / error", snap.statuses.get("error", 0) + snap.shipments.get("failed", 0)),
        ("wrong T&T or transporter", len(snap.wrong_tracking)),
        ("webhook -> bol.com p50", ms(percentile(snap.latencies, 50))),
        ("webhook -> bol.com p99", ms(percentile(snap.latencies, 99))),
        ("webhook -> bol.com max", ms(max(snap.latencies) if snap.latencies else None)),
        ("elapsed", f"{elapsed:.1f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    line = "+" + "-" * (width + 2) + "+" + "-" * 12 + "+"
    out = [line] + [f"| {name:<{width}} | {value!s:>10} |" for name, value in rows] + [line]
    return "\n".join(out)
