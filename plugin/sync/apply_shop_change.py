"""Use case: the shop says something about one of our orders (webhook or safety-net poll).

Completed without T&T -> waiting; completed with T&T (now or later) -> shipped, and entering
shipped writes the shipment's outbox row in the same transaction. A tracking entry that names
some lines (a partial shipment) writes a shipment of exactly those lines at once, whatever the
order's status, keyed by its tracking number; completion then ships the rest (key "rest"). Cancelled in the shop ->
pending_cancellation, and the marketplace cancellation's outbox row in the same transaction
(plugin/sync/cancellations.py). Any change of one of our orders also hints the jobs of its open
returns: the merchant may have refunded a returned line (plugin/sync/returns.py). Views arrive repeated and out
of order; the domain never moves backwards and a view older than the newest one applied is
dropped. A view may also arrive before create_in_shop recorded the shop order id (the shop's
webhook beat our commit): the marker in the order's meta finds the binding, which is adopted.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from plugin.domain import OrderStatus, ShopView
from plugin.domain.order import REST, LineTracking, PlannedShipment
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.cancellations import shop_cancelled
from plugin.sync.context import SyncContext
from plugin.sync.ports import ShopOrder, Tracking
from plugin.sync.push_shipment import order_shipments, with_shipments
from plugin.sync.returns import returns_to_check
from plugin.sync.shop_settings import shop_settings

log = logging.getLogger(__name__)

DEFAULT_COMPLETED = ("completed",)
# Statuses that mean "do not ship it": the merchant cancelled it, or gave all the money back.
CANCELLED_STATUSES = ("cancelled", "refunded")
TRASH = "trash"


def apply_shop_order(ctx: SyncContext, shop_id: int, shop_order: ShopOrder, source: str) -> str:
    """Returns what happened, for logs and tests."""
    for _ in range(5):  # optimistic concurrency: another worker changed the order; read again
        try:
            return _apply(ctx, shop_id, shop_order, source)
        except StaleDataError:
            continue
    raise RuntimeError(f"order for shop order {shop_order.id} kept changing under us")


def _apply(ctx: SyncContext, shop_id: int, shop_order: ShopOrder, source: str) -> str:
    now = ctx.clock()
    cancellation_id = None
    shipment_ids: list[int] = []
    returns: list[int] = []
    try:
        with ctx.db.session() as s:
            binding = _binding_for(s, shop_id, shop_order)
            if binding is None:
                return "not ours"
            order = s.get(models.Order, binding.order_id)
            if order.status == OrderStatus.MANUAL:
                return "handled manually"   # out of our hands: not even the modified time is ours to keep
            # a change of the order may be the merchant refunding a returned line
            returns = returns_to_check(s, order.id)
            if (shop_order.date_modified and order.shop_modified_at
                    and shop_order.date_modified < order.shop_modified_at):
                return "stale"
            shop = s.get(models.Shop, shop_id)
            view = shop_view(shop_order, shop.settings or {})
            domain = with_shipments(to_domain(order), order_shipments(s, order.id), order)
            outcome = domain.apply_shop_view(view, now)
            if shop_order.date_modified:
                order.shop_modified_at = shop_order.date_modified
            if outcome.status is None and not outcome.shipments:
                return "no change"
            write_back(order, domain)
            # the order row's version is the lock of its shipments: a concurrent view of the same
            # order planning the same lines fails its commit (StaleDataError) and reads again
            order.updated_at = now
            if outcome.status is not None:
                timeline.record(s, order.id, "state", f"{outcome.status.value}: {outcome.reason} "
                                                      f"(shop #{shop_order.number}, via {source})")
            for plan in outcome.shipments:
                shipment_ids.append(add_shipment(s, order, plan))
                if plan.key != REST:
                    timeline.record(s, order.id, "state", f"shipment of {_items(plan)} with its own track & trace "
                                                          f"{plan.tracking_provider or ''} {plan.tracking_number} "
                                                          f"(shop #{shop_order.number}, via {source})")
            if outcome.status is OrderStatus.PENDING_CANCELLATION:
                # the outbox row of the marketplace cancellation, in the same transaction
                cancellation_id = shop_cancelled(s, order, outcome, shop_settings(shop))
    finally:
        for return_id in returns:
            ctx.queue.push_return(return_id)
    for shipment_id in shipment_ids:
        ctx.queue.push_shipment(shipment_id)
    if cancellation_id is not None:
        ctx.queue.push_cancellation(cancellation_id)
    return outcome.status.value if outcome.status is not None else "lines shipped"


def shop_view(shop_order: ShopOrder, settings: dict) -> ShopView:
    completed = tuple(settings.get("completed_statuses") or DEFAULT_COMPLETED)
    whole = [t for t in shop_order.tracking if not t.line_items]
    tracking = whole[-1] if whole else None   # the newest one counts
    return ShopView(
        completed=shop_order.status in completed,
        cancelled=shop_order.status in CANCELLED_STATUSES,
        trashed=shop_order.status == TRASH,
        tracking_number=tracking.number if tracking else None,
        tracking_provider=tracking.provider if tracking else None,
        line_trackings=tuple(_line_tracking(t) for t in shop_order.tracking if t.line_items),
    )


def _line_tracking(tracking: Tracking) -> LineTracking:
    """Lines the shop named that are not ours (no marketplace line id) are left out: the entry
    then ships only ours, or nothing."""
    return LineTracking(number=tracking.number, provider=tracking.provider or None,
                        items=tuple((line.external_line_id, line.quantity) for line in tracking.line_items
                                    if line.external_line_id))


def add_shipment(s: Session, order: models.Order, plan: PlannedShipment | None = None) -> int:
    """The outbox row, in the caller's transaction (which holds the order row's version). Unique
    per (order, key): a plan seen again is the same shipment. It ships the plan's (line,
    quantity): not cancelled lines, nor those with a cancellation on its way, nor quantities
    another shipment covers (the domain planned against them). Without a plan: the rest of the
    order (what no shipment covers), for callers that only know the order moved to shipped."""
    if plan is None:
        domain = with_shipments(to_domain(order), order_shipments(s, order.id), order)
        plan = PlannedShipment(REST, tuple((line.line_id, line.unshipped) for line in domain.lines
                                           if line.unshipped and not line.cancelling),
                               order.tracking_number, order.tracking_provider)
    existing = s.scalar(select(models.Shipment).where(models.Shipment.order_id == order.id,
                                                      models.Shipment.key == plan.key))
    if existing is not None:
        return existing.id
    line_bound = plan.key != REST
    shipment = models.Shipment(
        order_id=order.id, key=plan.key, state="pending",
        reference=f"ob-{order.id}-{plan.key}"[:90] if line_bound else f"ob-{order.id}",
        line_ids=[line_id for line_id, _ in plan.items],
        quantities={line_id: quantity for line_id, quantity in plan.items} or None,
        tracking_number=plan.tracking_number if line_bound else None,
        tracking_provider=plan.tracking_provider if line_bound else None)
    s.add(shipment)
    s.flush()
    return shipment.id


def _items(plan: PlannedShipment) -> str:
    return ", ".join(f"{quantity} × line {line_id}" for line_id, quantity in plan.items)


def _binding_for(s: Session, shop_id: int, shop_order: ShopOrder) -> models.Binding | None:
    binding = s.scalar(select(models.Binding).where(
        models.Binding.shop_id == shop_id, models.Binding.shop_order_id == shop_order.id))
    if binding is not None or not shop_order.ref:
        return binding
    binding = s.scalar(select(models.Binding).where(
        models.Binding.shop_id == shop_id, models.Binding.ref == shop_order.ref))
    if binding is None:
        return None
    if binding.shop_order_id is None:
        # The shop has our order but create_in_shop has not recorded it (yet): adopt it now. Not
        # a binding the merchant handles manually: nothing of ours touches it any more.
        adopted = s.execute(update(models.Binding)
                            .where(models.Binding.id == binding.id, models.Binding.shop_order_id.is_(None),
                                   models.Binding.state != "manual")
                            .values(state="created", shop_order_id=shop_order.id,
                                    shop_order_number=shop_order.number, lease_until=None, next_attempt_at=None)
                            .execution_options(synchronize_session=False)).rowcount
        if adopted:
            timeline.record(s, binding.order_id, "note",
                            f"shop order #{shop_order.number} seen before its creation was recorded: adopted")
        s.refresh(binding)
    # Another view of the same order may have adopted it between our two look-ups (read committed
    # on PostgreSQL): still ours. A second shop order carrying our marker is not.
    if binding.shop_order_id not in (None, shop_order.id):
        return None
    return binding
