"""Use case: the merchant takes an order out of orderbridge's hands ("Handle manually"), with a
reason. The order moves to `manual` (final), its binding and open shipment to `manual` too, so
nothing of ours touches it again: the dispatcher's sweeps and every job claim rows only in their
open states, and apply_shop_change leaves a manual order alone (webhooks, shop polls).

A worker in the middle of a call on the order (a live lease) is never pulled out from under:
the merchant is asked to try again once it is done, so we never lose track of a request that
may have created the order in the shop or shipped it.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from plugin.domain import DomainError, OrderStatus
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.context import SyncContext
from plugin.sync.errors import ActionRefused
from plugin.sync.resend import load_order

MAX_REASON = 500
OPEN_BINDING = ("new", "creating", "error")
OPEN_SHIPMENT = ("pending", "sending", "failed", "submitted")
OPEN_CANCELLATION = ("shop_pending", "shop_sending", "pending", "sending", "submitted", "failed")


def handle_manually(ctx: SyncContext, shop_id: int, order_id: int, reason: str) -> None:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ActionRefused("say why the order is handled manually")
    if len(reason) > MAX_REASON:
        raise ActionRefused(f"the reason is too long (at most {MAX_REASON} characters)")
    for _ in range(5):   # the order row changed under us (a worker moved it): read again
        try:
            return _handle(ctx, shop_id, order_id, reason)
        except StaleDataError:
            continue
    raise ActionRefused("the order kept changing: try again")


def _handle(ctx: SyncContext, shop_id: int, order_id: int, reason: str) -> None:
    now = ctx.clock()
    with ctx.db.session() as s:
        order = load_order(s, shop_id, order_id)
        if order.status == OrderStatus.MANUAL:
            raise ActionRefused("the order is already handled manually")
        domain = to_domain(order)
        try:
            domain.handle_manually(reason)
        except DomainError as exc:    # IllegalTransition: a cancelled order
            raise ActionRefused(f"a {order.status.replace('_', ' ')} order cannot be handled manually") from exc
        notes = []
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order_id))
        if binding is not None and binding.state in OPEN_BINDING:
            _claim(s, models.Binding, binding.id, OPEN_BINDING, now,
                   "orderbridge is creating this order in the shop right now: try again in a few minutes")
            if binding.first_attempt_at is not None and binding.shop_order_id is None:
                notes.append(f"an earlier attempt may have created it in the shop: look for an order with "
                             f"_orderbridge_ref {binding.ref}")
        # every open shipment of the order (partial shipments: several)
        for shipment in list(s.scalars(select(models.Shipment).where(models.Shipment.order_id == order_id,
                                                                     models.Shipment.state.in_(OPEN_SHIPMENT)))):
            _claim(s, models.Shipment, shipment.id, OPEN_SHIPMENT, now,
                   "orderbridge is sending this shipment right now: try again in a few minutes")
            if shipment.state in ("sending", "submitted") or (shipment.state == "failed" and shipment.sent_at):
                notes.append(f"a shipment ({shipment.reference}) may already have reached the marketplace: "
                             f"check the order there")
        for c in s.scalars(select(models.Cancellation).where(models.Cancellation.order_id == order_id,
                                                             models.Cancellation.state.in_(OPEN_CANCELLATION))):
            _claim(s, models.Cancellation, c.id, OPEN_CANCELLATION, now,
                   "orderbridge is cancelling this order right now: try again in a few minutes")
            if c.state in ("sending", "submitted") or (c.state == "failed" and c.sent_at):
                notes.append("a cancellation may already have reached the marketplace: check the order there")
        write_back(order, domain)
        order.manual_at = now
        timeline.record(s, order.id, "state", f"manual: handled manually by the merchant: {reason}")
        for note in notes:
            timeline.record(s, order.id, "note", note)


def _claim(s, model, row_id: int, states: tuple[str, ...], now, busy: str) -> None:
    """Compare-and-set to `manual`, only while no worker holds the row (lease free)."""
    moved = s.execute(
        update(model)
        .where(model.id == row_id, model.state.in_(states),
               or_(model.lease_until.is_(None), model.lease_until < now))
        .values(state="manual", next_attempt_at=None, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ActionRefused(busy)
