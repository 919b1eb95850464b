"""Use case: orders waiting for T&T longer than their shop's grace period (default 3 hours)
become shipped without T&T, and their shipment is pushed without transport.

Before that, the shop order is read again (one GET per order whose grace is over, outside any
transaction): meanwhile it may have got its T&T (a webhook lost), been cancelled or refunded, or
moved to the Trash, and shipping it blind would tell the buyer a parcel left that never will. The
view read is applied as any shop change (apply_shop_order); a trashed or gone order is flagged,
not shipped (trashed_in_shop). Only an order still waiting and still completed in that view is
shipped, in a transaction of its own guarded by the order row's version, so a webhook applied
meanwhile (T&T, Trash) wins or loses cleanly and nothing ships twice. A shop that cannot be read
now (5xx, timeout, keys refused) is asked again at the next sweep: nothing ships without the
answer."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from adapters.errors import AdapterError, NotFound
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.apply_shop_change import add_shipment, apply_shop_order, shop_view
from plugin.sync.context import SyncContext
from plugin.sync.ports import ShopOrder
from plugin.sync.push_shipment import order_shipments, with_shipments
from plugin.sync.trashed_in_shop import flag_gone, order_gone

log = logging.getLogger(__name__)

SOURCE = "grace check: the shop order read again"
UNREADABLE = object()   # the shop did not answer: this shop's orders wait for the next sweep


def grace_of(shop: models.Shop, default_seconds: int) -> timedelta:
    return timedelta(seconds=int((shop.settings or {}).get("grace_seconds", default_seconds)))


def grace_sweep(ctx: SyncContext) -> list[int]:
    pushed = []
    unreachable: set[int] = set()
    for order_id, shop_id, shop_order_id, port in _grace_over(ctx, ctx.clock()):
        if shop_id in unreachable:
            continue   # one failed read per shop and sweep is enough: the next sweep asks again
        shop_order = None
        if shop_order_id is not None:
            shop_order = _read_again(ctx, order_id, shop_id, shop_order_id, port)
            if shop_order is UNREADABLE:
                unreachable.add(shop_id)
                continue
            if shop_order is None:
                continue
        shipment_ids = _ship_without_tracking(ctx, order_id, shop_order)
        pushed.extend(shipment_ids)
        for shipment_id in shipment_ids:
            ctx.queue.push_shipment(shipment_id)
    return pushed


def _grace_over(ctx: SyncContext, now) -> list[tuple]:
    """(order id, shop id, shop order id, shop port) of each waiting order whose grace is over."""
    due = []
    ports = {}
    with ctx.db.session() as s:
        for order_id, waiting_since, shop_order_id, shop in s.execute(
                select(models.Order.id, models.Order.waiting_since, models.Binding.shop_order_id, models.Shop)
                .join(models.Shop, models.Shop.id == models.Order.shop_id)
                .outerjoin(models.Binding, models.Binding.order_id == models.Order.id)
                # not a disconnected shop's orders: we cannot see T&T added meanwhile, and a
                # re-install's first shop poll must get to apply it before the grace does
                .where(models.Order.status == "waiting", models.Order.waiting_since <= now - timedelta(seconds=1),
                       models.Shop.status == "active")):
            if now - waiting_since < grace_of(shop, ctx.settings.grace_seconds):
                continue   # read from the shop only once its grace is over: one GET per order
            if shop_order_id is not None and shop.id not in ports:
                ports[shop.id] = ctx.adapters.shop(shop)
            due.append((order_id, shop.id, shop_order_id, ports.get(shop.id)))
    return due


def _read_again(ctx: SyncContext, order_id: int, shop_id: int, shop_order_id: int, port):
    """The shop order as it is now, applied; None when that view settled it (moved, flagged) or
    cannot be trusted (a newer one came meanwhile), UNREADABLE when the shop did not answer."""
    try:
        shop_order = port.get_order(shop_order_id)
    except NotFound as exc:
        if not order_gone(exc):
            log.warning("grace check of order %s: the shop's REST API is not there (%s): asked again later",
                        order_id, exc)
            return UNREADABLE
        _settle(lambda: flag_gone(ctx, shop_id, shop_order_id, f"{SOURCE}: gone from the shop"), order_id)
        return None
    except AdapterError as exc:
        log.warning("grace check of order %s: the shop cannot be read now (%s): asked again later", order_id, exc)
        return UNREADABLE
    outcome = _settle(lambda: apply_shop_order(ctx, shop_id, shop_order, SOURCE), order_id)
    if outcome in (None, "stale"):
        return None   # a webhook applied a newer view while we read: the next sweep reads again
    return shop_order


def _settle(apply, order_id: int) -> str | None:
    try:
        return apply()
    except RuntimeError as exc:   # the order kept changing under us: the next sweep looks again
        log.warning("grace check of order %s: %s", order_id, exc)
        return None


def _ship_without_tracking(ctx: SyncContext, order_id: int, shop_order: ShopOrder | None) -> list[int]:
    """Shipped without T&T if it still waits and the shop order read again is still completed.
    No longer completed (the merchant took the completion back): not shipped, and its grace
    counts from now."""
    now = ctx.clock()   # after the shop's answer: the timeline says how long it really waited
    try:
        with ctx.db.session() as s:
            order = s.get(models.Order, order_id)
            if order is None or order.status != "waiting":
                return []   # the view read again (or a webhook meanwhile) moved it
            shop = s.get(models.Shop, order.shop_id)
            if shop_order is not None and not shop_view(shop_order, shop.settings or {}).completed:
                domain = to_domain(order)
                outcome = domain.wait_again(now)
                write_back(order, domain)
                timeline.record(s, order.id, "state", f"{order.status}: {outcome.reason} (the shop order is "
                                                      f"{shop_order.status}, via {SOURCE})")
                return []
            # lines already in their own shipments (partial) are not in the rest
            domain = with_shipments(to_domain(order), order_shipments(s, order.id), order)
            outcome = domain.grace_expired(now, grace_of(shop, ctx.settings.grace_seconds))
            if outcome.status is None:
                return []
            write_back(order, domain)
            order.updated_at = now   # the order row's version guards its shipments
            timeline.record(s, order.id, "state", f"{outcome.status.value}: {outcome.reason}")
            return [add_shipment(s, order, plan) for plan in outcome.shipments]
    except StaleDataError:
        return []  # the shop changed it meanwhile (T&T arrived, trashed): the next sweep looks again
