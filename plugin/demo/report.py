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
    shipped_externals: list[str] = field(default_factory=list)   # bol.com SUCCESS, first received first
    shipped_items: dict[str, list[str]] = field(default_factory=dict)   # order -> items in SUCCESS shipments
    # orders the merchant shipped in two parcels (one line with its own T&T, then the rest on
    # completion): how many, and how many bol.com has as exactly those two shipments, right
    partial_planned: int = 0
    partial_ok: int = 0
    cancelled_in_shop: set[str] = field(default_factory=set)     # shop order status cancelled
    # the scenarios (plugin/demo/scenarios.py), read from the sandboxes' records
    scenarios: bool = False
    to_cancel: int = 0                   # orders the scenarios cancel (never shipped)
    buyer_planned: int = 0
    buyer_requested: int = 0             # bol.com: every item carries the buyer's request
    buyer_in_shop: int = 0               # shop: order cancelled
    buyer_on_bol: int = 0                # bol.com: every item cancelled (process SUCCESS)
    shop_planned: int = 0
    shop_cancelled: int = 0              # the merchant's cancellations done in the shop
    shop_sent: int = 0                   # bol.com received a cancellation for every item
    shop_on_bol: int = 0                 # ... and confirmed it (process SUCCESS)
    cancellation_duplicates: int = 0     # more than one cancellation accepted for an item
    stray: list[str] = field(default_factory=list)   # cancellations / shipments where none belongs
    return_wanted: bool = False
    returns_registered: int = 0          # bol.com: the buyer's return of our order
    returns_noted: int = 0               # shop: order notes about it
    returns_refunded: int = 0            # shop: the merchant's refund
    returns_handled: int = 0             # bol.com: handled (process SUCCESS)
    handling_duplicates: int = 0
    stock_changes: int = 0               # shop: stock moved by orders, cancellations, refunds, edits
    stock_updates: int = 0               # bol.com: offer PATCHes applied
    offers_total: int = 0
    offers_ok: int = 0
    offers_wrong: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return (self.shop_duplicates + self.shipment_duplicates + self.cancellation_duplicates
                + self.handling_duplicates + max(0, self.returns_noted - 1))

    @property
    def to_ship(self) -> int:
        return self.seeded - self.to_cancel

    def converged(self) -> bool:
        orders = (self.seeded > 0 and self.created_in_shop == self.seeded and self.duplicates == 0
                  and self.shipped_ok == self.to_ship and not self.wrong_tracking and not self.stray
                  and self.partial_ok == self.partial_planned
                  and self.statuses.get("shipped", 0) == self.to_ship
                  # a partially shipped order has two shipments, every other one
                  and self.shipments.get("success", 0) == self.to_ship + self.partial_planned)
        if not self.scenarios:
            return orders
        return (orders
                and self.buyer_requested == self.buyer_in_shop == self.buyer_on_bol == self.buyer_planned
                and self.shop_cancelled == self.shop_sent == self.shop_on_bol == self.shop_planned
                and self.statuses.get("cancelled", 0) == self.to_cancel
                and (not self.return_wanted or self.returns_registered == self.returns_noted
                     == self.returns_refunded == self.returns_handled == 1)
                and self.offers_total > 0 and self.offers_ok == self.offers_total)

    def problems(self) -> list[str]:
        """Why it has not converged (yet), for the closing lines."""
        out = list(self.wrong_tracking[:10]) + self.stray[:10]
        if self.partial_ok != self.partial_planned:
            out.append(f"partial shipments: {self.partial_planned} orders shipped in two parcels, "
                       f"{self.partial_ok} with exactly their two shipments on bol.com")
        if self.scenarios:
            if not self.buyer_requested == self.buyer_in_shop == self.buyer_on_bol == self.buyer_planned:
                out.append(f"buyer cancellations: {self.buyer_planned} planned, {self.buyer_requested} asked on "
                           f"bol.com, {self.buyer_in_shop} cancelled in the shop, {self.buyer_on_bol} cancelled on bol.com")
            if not self.shop_cancelled == self.shop_sent == self.shop_on_bol == self.shop_planned:
                out.append(f"shop cancellations: {self.shop_planned} planned, {self.shop_cancelled} cancelled in the "
                           f"shop, {self.shop_sent} sent to bol.com, {self.shop_on_bol} confirmed")
            if self.return_wanted and not (self.returns_registered == self.returns_noted == self.returns_refunded
                                           == self.returns_handled == 1):
                out.append(f"return: {self.returns_registered} registered, {self.returns_noted} notes in the shop, "
                           f"{self.returns_refunded} refunded by the merchant, {self.returns_handled} handled on bol.com")
            out.extend(self.offers_wrong[:10])
        return out


def take(bol: httpx.Client, shop: httpx.Client, db, seeded_ids: set[str], plans: dict,
         scenarios=None) -> Snapshot:
    snap = Snapshot(seeded=len(seeded_ids))
    shop_orders = shop.get("/_sandbox/orders").json()
    per_external: Counter = Counter()
    for order in shop_orders:
        meta = {m["key"]: m["value"] for m in order.get("meta_data", [])}
        external = meta.get("_orderbridge_external_id")
        if external in seeded_ids:
            per_external[external] += 1
            snap.shop_order_by_external[external] = order["id"]
            if order.get("status") == "cancelled":
                snap.cancelled_in_shop.add(external)
    snap.created_in_shop = len(per_external)
    snap.shop_duplicates = sum(n - 1 for n in per_external.values())
    not_shipped = scenarios.skip if scenarios is not None else set()
    snap.to_cancel = len(not_shipped)

    received = bol.get("/_sandbox/shipments").json()["shipments"]
    plan_of = {external: plans.get(shop_id) for external, shop_id in snap.shop_order_by_external.items()}
    per_order: Counter = Counter()
    succeeded: dict[str, list[dict]] = {}
    for item in received:
        order_id = item["order_id"]
        if order_id not in seeded_ids:
            continue
        per_order[order_id] += 1
        if order_id in not_shipped:
            snap.stray.append(f"{order_id}: a shipment reached bol.com for an order that was to be cancelled")
        if item.get("status") == "SUCCESS":
            if order_id not in succeeded:
                snap.shipped_externals.append(order_id)
            succeeded.setdefault(order_id, []).append(item)
            snap.shipped_items.setdefault(order_id, []).extend(_item_ids(item))
    ok_at: dict[str, float] = {}     # when bol.com received the shipment that completed the order
    part_at: dict[str, float] = {}   # ... and a partially shipped order's first parcel
    for order_id, items in succeeded.items():
        plan = plan_of.get(order_id)
        if plan is not None and plan.fate == "partial":
            if _partial(snap, order_id, items, plan, part_at):
                ok_at[order_id] = items[-1]["received_at"]
            continue
        ok_at[order_id] = items[-1]["received_at"]
        for item in items:
            _check_tracking(snap, order_id, item, plans)
    snap.shipped_ok = len([o for o in ok_at if o not in not_shipped])
    # an order planned in two parcels must have two shipments on bol.com, any other one
    snap.shipment_duplicates = sum(max(0, n - (plan_of[o].shipments if plan_of.get(o) else 1))
                                   for o, n in per_order.items())
    snap.partial_planned = sum(1 for p in list(plans.values()) if p.fate == "partial")

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
        if external in part_at and plan.part_signal_at is not None:   # the first parcel's, too
            after = [t for t in by_order.get(shop_id, []) if t >= plan.part_signal_at - 0.05]
            if after:
                snap.latencies.append(max(0.0, part_at[external] - min(after)))

    if scenarios is not None:
        _scenarios(snap, bol, shop, scenarios, shop_orders)

    with db.session() as s:
        snap.statuses = Counter(dict(s.execute(select(models.Order.status, func.count()).group_by(models.Order.status)).all()))
        snap.shipments = Counter(dict(s.execute(select(models.Shipment.state, func.count()).group_by(models.Shipment.state)).all()))
        snap.ever_waiting = s.scalar(select(func.count(func.distinct(models.TimelineEntry.order_id)))
                                     .where(models.TimelineEntry.message.like("waiting:%"))) or 0
    return snap


def _scenarios(snap: Snapshot, bol: httpx.Client, shop: httpx.Client, sc, shop_orders: list[dict]) -> None:
    snap.scenarios = True
    buyer, merchant = set(sc.buyer_cancel), set(sc.shop_cancel)
    snap.buyer_planned, snap.shop_planned = len(buyer), len(merchant)
    item_order = {item: order for order, items in sc.item_ids.items() for item in items}

    # cancellations: the buyer's requests and what bol.com received and processed, per item
    bol_orders = {o["orderId"]: o for o in bol.get("/_sandbox/orders", params={"client_id": sc.seller}).json()["orders"]}
    accepted: Counter = Counter()
    succeeded: set[str] = set()
    for record in bol.get("/_sandbox/cancellations").json()["cancellations"]:
        item = record.get("order_item_id")
        order = item_order.get(item)
        if order is None or record.get("process_status_id") is None:
            continue
        accepted[item] += 1
        if record.get("status") == "SUCCESS":
            succeeded.add(item)
        if order not in buyer | merchant:
            snap.stray.append(f"{order}: bol.com received a cancellation of item {item}, which nobody cancelled")
    snap.cancellation_duplicates = sum(n - 1 for n in accepted.values())

    def cancelled_on_bol(order: str) -> bool:
        items = bol_orders.get(order, {}).get("orderItems", [])
        return bool(items) and all(i["orderItemId"] in succeeded and i["quantityCancelled"] == i["quantity"]
                                   for i in items)

    for order in buyer:
        items = bol_orders.get(order, {}).get("orderItems", [])
        snap.buyer_requested += bool(items) and all(i.get("cancellationRequest") for i in items)
        snap.buyer_in_shop += order in snap.cancelled_in_shop
        snap.buyer_on_bol += cancelled_on_bol(order)
    for order in merchant:
        snap.shop_cancelled += order in snap.cancelled_in_shop
        snap.shop_sent += all(item in accepted for item in sc.item_ids.get(order, ())) and order in sc.item_ids
        snap.shop_on_bol += cancelled_on_bol(order)

    # the return: registered on bol.com, told to the shop, refunded there, handled on bol.com
    snap.return_wanted = sc.wants_return
    if sc.rma_id is not None:
        data = bol.get("/_sandbox/returns", params={"client_id": sc.seller}).json()
        items = [i for r in data["returns"] for i in r.get("returnItems", []) if str(i.get("rmaId")) == sc.rma_id]
        snap.returns_registered = len(items)
        handlings = [h for h in data["handlings"] if str(h.get("rma_id")) == sc.rma_id
                     and h.get("process_status_id") is not None]
        snap.handling_duplicates = max(0, len(handlings) - 1)
        snap.returns_handled = int(any(h.get("status") == "SUCCESS" for h in handlings)
                                   and all(i.get("handled") for i in items))
        snap.returns_noted = sc.notes_about_return()
        order = next((o for o in shop_orders if o["id"] == sc.return_shop_order), None)
        snap.returns_refunded = len(order.get("refunds", [])) if order else 0

    # stock: the shop's changes, the updates bol.com took, and each offer against the shop
    catalog_ids = {p["id"] for p in sc.products}
    snap.stock_changes = len(sc.stock_edits) + sum(_stock_moves(o, catalog_ids) for o in shop_orders)
    offers = bol.get("/_sandbox/offers", params={"client_id": sc.seller}).json()
    snap.stock_updates = sum(1 for u in offers["updates"] if u.get("applied"))
    amounts = {o["ean"]: (o.get("stock") or {}).get("amount") for o in offers["offers"]}
    wanted = {p["global_unique_id"] for p in sc.products}
    for product in shop.get("/_sandbox/products").json():
        if product.get("global_unique_id") not in wanted:
            continue
        snap.offers_total += 1
        have = amounts.get(product["global_unique_id"])
        if have == product.get("stock_quantity"):
            snap.offers_ok += 1
        else:
            snap.offers_wrong.append(f"offer {product['global_unique_id']} ({product['sku']}): bol.com has {have}, "
                                     f"the shop {product.get('stock_quantity')}")


def _stock_moves(order: dict, catalog_ids: set[int]) -> int:
    """How often this shop order moved a product's stock, from what WooCommerce keeps on its lines:
    taken (`_reduced_stock`, given back in full by a cancellation), given back by the cancellation,
    restocked by a refund (`_restock_refunded_items`)."""
    moves = 0
    for line in order.get("line_items", []):
        if (line.get("variation_id") or line.get("product_id")) not in catalog_ids:
            continue
        meta = {m["key"]: m["value"] for m in line.get("meta_data", [])}
        cancelled = order.get("status") == "cancelled"
        moves += int("_reduced_stock" in meta or cancelled) + int(cancelled)
        moves += int(int(meta.get("_restock_refunded_items") or 0) > 0)
    return moves


def _item_ids(shipment: dict) -> list[str]:
    return [str(i.get("orderItemId")) for i in (shipment.get("body") or {}).get("orderItems") or []]


def _expected_transport(provider: str, number: str) -> dict:
    if provider == "DHL":
        return {"transporterCode": "DHLFORYOU", "trackAndTrace": number.replace("JVGL", "")}
    return {"transporterCode": "TNT", "trackAndTrace": number}


def _partial(snap: Snapshot, order_id: str, items: list[dict], plan, part_at: dict) -> bool:
    """An order shipped in two parcels: bol.com accepted exactly its first line with the first
    T&T and the other lines with the completion's T&T. True once both are there (the order is
    pushed); a shipment of other items or with another T&T is a wrong one."""
    expected = {
        "first line": ({plan.part_line}, _expected_transport(plan.part_provider, plan.part_number), plan.part_quantity),
        "rest": (set(plan.rest_lines), _expected_transport(plan.provider, plan.number), None),
    }
    found: dict[str, dict] = {}
    wrong = False
    for item in items:
        body = item.get("body") or {}
        ids = set(_item_ids(item))
        which = next((name for name, (lines, _, _) in expected.items() if ids == lines), None)
        transport = body.get("transport")
        if which is None or which in found:
            snap.wrong_tracking.append(f"{order_id}: a shipment of items {sorted(ids)}, expected "
                                       f"{sorted(expected['first line'][0])} then {sorted(expected['rest'][0])}")
            wrong = True
            continue
        found[which] = item
        lines, want, quantity = expected[which]
        quantities = [i.get("quantity") for i in body.get("orderItems") or []]
        if transport != want or (quantity is not None and any(q not in (None, quantity) for q in quantities)):
            snap.wrong_tracking.append(f"{order_id} ({which}): expected {want['transporterCode']} "
                                       f"{want['trackAndTrace']}, got {transport} for {body.get('orderItems')}")
            wrong = True
    if "first line" in found:
        part_at[order_id] = found["first line"]["received_at"]
    shipped = all(name in found for name in expected) or wrong
    if shipped and not wrong and len(items) == 2:
        snap.partial_ok += 1
    return shipped


def _check_tracking(snap: Snapshot, order_id: str, item: dict, plans: dict) -> None:
    shop_id = snap.shop_order_by_external.get(order_id)
    plan = plans.get(shop_id)
    if plan is None or plan.fate == "partial":
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
        ("partial shipments: orders / right", f"{snap.partial_planned} / {snap.partial_ok}"),
    ]
    if snap.scenarios:
        rows += [
            ("buyer cancellations: asked / shop / bol", f"{snap.buyer_requested} / {snap.buyer_in_shop} / {snap.buyer_on_bol}"),
            ("shop cancellations: sent / confirmed", f"{snap.shop_sent} / {snap.shop_on_bol}"),
            ("returns: registered / shop / handled", f"{snap.returns_registered} / {min(1, snap.returns_noted)} / "
                                                     f"{snap.returns_handled}"),
            ("stock changes in the shop", snap.stock_changes),
            ("stock updates sent to bol.com", snap.stock_updates),
            ("offers with the shop's stock", f"{snap.offers_ok}/{snap.offers_total}"),
        ]
    rows += [
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
