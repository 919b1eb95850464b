"""Use case: orders waiting for T&T longer than their shop's grace period (default 3 hours)
become shipped without T&T, and their shipment is pushed without transport."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.apply_shop_change import add_shipment
from plugin.sync.context import SyncContext
from plugin.sync.push_shipment import order_shipments, with_shipments


def grace_of(shop: models.Shop, default_seconds: int) -> timedelta:
    return timedelta(seconds=int((shop.settings or {}).get("grace_seconds", default_seconds)))


def grace_sweep(ctx: SyncContext) -> list[int]:
    now = ctx.clock()
    shortest = timedelta(seconds=1)
    with ctx.db.session() as s:
        candidates = [
            (order_id, shop)
            for order_id, shop in s.execute(
                select(models.Order.id, models.Shop)
                .join(models.Shop, models.Shop.id == models.Order.shop_id)
                # not a disconnected shop's orders: we cannot see T&T added meanwhile, and a
                # re-install's first shop poll must get to apply it before the grace does
                .where(models.Order.status == "waiting", models.Order.waiting_since <= now - shortest,
                       models.Shop.status == "active"))
        ]
    pushed = []
    for order_id, shop in candidates:
        grace = grace_of(shop, ctx.settings.grace_seconds)
        try:
            with ctx.db.session() as s:
                order = s.get(models.Order, order_id)
                # lines already in their own shipments (partial) are not in the rest
                domain = with_shipments(to_domain(order), order_shipments(s, order.id), order)
                outcome = domain.grace_expired(now, grace)
                if outcome.status is None:
                    continue
                write_back(order, domain)
                order.updated_at = now   # the order row's version guards its shipments
                timeline.record(s, order.id, "state", f"{outcome.status.value}: {outcome.reason}")
                shipment_ids = [add_shipment(s, order, plan) for plan in outcome.shipments]
        except StaleDataError:
            continue  # the shop changed it meanwhile (T&T arrived): the next sweep looks again
        pushed.extend(shipment_ids)
        for shipment_id in shipment_ids:
            ctx.queue.push_shipment(shipment_id)
    return pushed
