"""Use case: the merchant's "Resend" button on an order: try its creation in the shop, or its
shipment push to the marketplace, again now.

- Creation failed (binding `error`): back to `creating` when an attempt ever reached out (so the
  next attempt looks the order up by its marker before creating: never a duplicate), else `new`.
- Shipment failed (shipment `failed`): back to `sending` when the outcome of the last send is
  unknown (push_shipment looks the earlier process up before sending again), or to `pending` when
  the marketplace definitively refused it or it was never sent (push_shipment keeps `sent_at` for
  exactly that), so the transport is resolved again from the current rules.
- Cancellation failed (cancellation `failed`): back to the shop step if it never finished there,
  else to `sending` (outcome unknown: looked up first) or `pending` (definitively refused).
- Not in error but waiting on a backoff: the retry is brought forward ("push now"), for a
  cancellation or a return too.
- A return whose handling failed (or whose note / refund record could not be written): tried
  again, looked up first wherever an earlier call may have reached the other side.
- A stock update in Error (the Stock tab's per-product Resend, resend_stock): a new pending update
  for the offer, computed when sent, never before the horizon of the failed one.

Every move is a compare-and-set on the row's current state in one transaction with the order's
own (versioned) move, so two clicks, or a click racing a worker, never double anything: the loser
is refused. One rule is never bent, whoever clicks: a request whose answer we never got may still
be running on the other side for `in_flight_seconds`, so nothing is looked up or sent again before
that horizon (the job is then scheduled for it instead of now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from plugin.domain import REQUESTED_BY_CUSTOMER, OrderStatus
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.apply_shop_change import add_shipment
from plugin.sync.context import SyncContext
from plugin.sync.disconnect import shop_active
from plugin.sync.errors import ActionRefused
from plugin.sync.push_shipment import order_shipments, shipment_to_resend, with_shipments
from plugin.sync.shop_settings import shop_settings

WHO = "resend requested by the merchant"


@dataclass
class _Job:
    kind: str            # "create" | "push" | ""
    target_id: int
    delay: float
    message: str


def resend(ctx: SyncContext, shop_id: int, order_id: int) -> str:
    """Returns one line for the UI saying what happens now. Raises ActionRefused."""
    for _ in range(5):   # the order row changed under us (a worker moved it): read again
        try:
            job = _resend(ctx, shop_id, order_id)
        except StaleDataError:
            continue
        # after the commit: the job finds the row as we left it (and the sweeps would anyway)
        if job.kind == "create":
            ctx.queue.create_in_shop(job.target_id, delay=job.delay)
        elif job.kind == "push":
            ctx.queue.push_shipment(job.target_id, delay=job.delay)
        elif job.kind == "cancel":
            ctx.queue.push_cancellation(job.target_id, delay=job.delay)
        elif job.kind == "return":
            ctx.queue.push_return(job.target_id, delay=job.delay)
        return job.message
    raise ActionRefused("the order kept changing while resending: try again")


def load_order(s: Session, shop_id: int, order_id: int) -> models.Order:
    """The order, if it belongs to this shop (the caller's shop, never one named by the form)."""
    order = s.get(models.Order, order_id)
    if order is None or order.shop_id != shop_id:
        raise ActionRefused("no such order in this shop")
    return order


def _resend(ctx: SyncContext, shop_id: int, order_id: int) -> _Job:
    now = ctx.clock()
    with ctx.db.session() as s:
        order = load_order(s, shop_id, order_id)
        if not shop_active(s.get(models.Shop, shop_id)):
            raise ActionRefused("the shop is disconnected: reinstall the app to resume its orders")
        if order.status == OrderStatus.MANUAL:
            raise ActionRefused("the order is handled manually: orderbridge no longer touches it")
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order_id))
        shipment = shipment_to_resend(s, order_id, now)   # an order may have several (partial)
        if order.status == OrderStatus.ERROR:
            cancellation = s.scalar(select(models.Cancellation)
                                    .where(models.Cancellation.order_id == order_id,
                                           models.Cancellation.state == "failed")
                                    .order_by(models.Cancellation.id.desc()).limit(1))
            if cancellation is not None and order.error_from == OrderStatus.PENDING_CANCELLATION:
                return _resend_cancellation(ctx, s, order, cancellation, now)
            if binding is not None and binding.state == "error":
                return _resend_creation(ctx, s, order, binding, now)
            if shipment is not None and shipment.state == "failed":
                return _resend_shipment(ctx, s, order, shipment, now)
            if cancellation is not None:
                return _resend_cancellation(ctx, s, order, cancellation, now)
            domain = to_domain(order)
            if domain.trashed:
                return _ship_trashed_anyway(ctx, s, order, domain, now)
            # In error, yet nothing failed any more (the shop's webhook showed the order exists
            # after its creation was given up): back to where it was, nothing to redo.
            outcome = domain.resend()
            write_back(order, domain)
            timeline.record(s, order.id, "state", f"{outcome.status.value}: {WHO}; nothing left to redo")
            return _Job("", order.id, 0, f"back to {outcome.status.value}: nothing needed to be sent again")
        return _cancellation_or_return_waiting(ctx, s, order, now) or _push_now(ctx, s, order, binding, shipment, now)


def _ship_trashed_anyway(ctx: SyncContext, s: Session, order: models.Order, domain, now: datetime) -> _Job:
    """Resend of an order flagged as trashed in the shop: the merchant says it goes anyway. One
    that waited for its T&T ships without it; one not shipped yet goes back to not shipped."""
    domain = with_shipments(domain, order_shipments(s, order.id), order)
    outcome = domain.ship_trashed_anyway(now)
    write_back(order, domain)
    order.updated_at = now   # the order row's version guards its shipments
    timeline.record(s, order.id, "state", f"{outcome.status.value}: {WHO}: {outcome.reason}")
    shipment_ids = [add_shipment(s, order, plan) for plan in outcome.shipments]
    if shipment_ids:
        return _Job("push", shipment_ids[0], 0, "shipped without track & trace, though it is in the shop's Trash")
    if outcome.status is OrderStatus.SHIPPED:   # every line was in a shipment of its own already
        return _Job("", order.id, 0, "shipped: its lines had their own shipments already")
    return _Job("", order.id, 0, f"back to {outcome.status.value}: the shop's completion ships it")


def _horizon(ctx: SyncContext, last_change: datetime | None, now: datetime) -> datetime | None:
    """When a request that left before `last_change` can no longer commit on the other side."""
    if last_change is None:
        return None
    at = last_change + timedelta(seconds=ctx.settings.in_flight_seconds)
    return at if at > now else None


def _delay(at: datetime | None, now: datetime) -> float:
    return max(0.0, (at - now).total_seconds()) if at else 0.0


def _later(at: datetime | None, now: datetime) -> str:
    return f" in {_delay(at, now):.0f} s (an earlier request may still be running)" if at else " now"


def _resend_creation(ctx, s: Session, order: models.Order, binding: models.Binding, now: datetime) -> _Job:
    reached_out = binding.first_attempt_at is not None
    target = "creating" if reached_out else "new"
    not_before = _horizon(ctx, binding.updated_at, now) if reached_out else None
    moved = s.execute(
        update(models.Binding)
        .where(models.Binding.id == binding.id, models.Binding.state == "error")
        .values(state=target, attempts=0, next_attempt_at=not_before, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ActionRefused("the order was already resent")
    domain = to_domain(order)
    outcome = domain.resend()
    write_back(order, domain)
    how = " (looked up in the shop first: an earlier attempt may have created it)" if reached_out else ""
    timeline.record(s, order.id, "state", f"{outcome.status.value}: {WHO}: creating it in the shop again{how}")
    return _Job("create", order.id, _delay(not_before, now), f"creating the order in the shop again{_later(not_before, now)}")


def _resend_shipment(ctx, s: Session, order: models.Order, shipment: models.Shipment, now: datetime) -> _Job:
    # sent_at is cleared when the marketplace definitively said "not done" (push_shipment), so a
    # set sent_at means the last send's outcome is unknown: look it up before sending again.
    unknown = shipment.sent_at is not None
    target = "sending" if unknown else "pending"
    not_before = _horizon(ctx, shipment.updated_at, now) if unknown else None
    moved = s.execute(
        update(models.Shipment)
        .where(models.Shipment.id == shipment.id, models.Shipment.state == "failed")
        .values(state=target, attempts=0, next_attempt_at=not_before, lease_until=None, last_error=None,
                process_id=None, done_at=None)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ActionRefused("the shipment was already resent")
    domain = to_domain(order)
    outcome = domain.resend()
    write_back(order, domain)
    how = (" (the marketplace is asked for an earlier send first)" if unknown
           else " (transport chosen again from the current rules)")
    timeline.record(s, order.id, "state", f"{outcome.status.value}: {WHO}: sending the shipment again{how}")
    return _Job("push", shipment.id, _delay(not_before, now), f"sending the shipment again{_later(not_before, now)}")


def _resend_cancellation(ctx, s: Session, order: models.Order, c: models.Cancellation, now: datetime) -> _Job:
    """A cancellation that failed: the shop step again when it never finished there (its calls are
    idempotent), else the marketplace call: looked up first (`sending`) when the last call's
    outcome is unknown, sent afresh (`pending`) when the marketplace definitively refused it."""
    if c.direction == "marketplace" and c.shop_done_at is None:
        target, unknown = "shop_pending", False
    else:
        unknown = c.sent_at is not None
        target = "sending" if unknown else "pending"
    not_before = _horizon(ctx, c.updated_at, now) if unknown else None
    values = {}
    if target == "pending" and c.direction == "shop" and c.reason_code != REQUESTED_BY_CUSTOMER:
        # sent afresh: with the reason code the settings say now (the merchant may have fixed it)
        values["reason_code"] = shop_settings(s.get(models.Shop, order.shop_id)).get("cancel_reason_code") \
            or c.reason_code
    moved = s.execute(
        update(models.Cancellation)
        .where(models.Cancellation.id == c.id, models.Cancellation.state == "failed")
        .values(state=target, attempts=0, next_attempt_at=not_before, lease_until=None, last_error=None,
                process_id=None, done_at=None, **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ActionRefused("the cancellation was already resent")
    s.expire(order, ["cancellations"])
    domain = to_domain(order)
    outcome = domain.resend()
    write_back(order, domain)
    how = " (the marketplace is asked for an earlier call first)" if unknown else ""
    timeline.record(s, order.id, "state", f"{outcome.status.value}: {WHO}: cancelling again{how}")
    return _Job("cancel", c.id, _delay(not_before, now), f"cancelling again{_later(not_before, now)}")


def _push_now(ctx, s: Session, order: models.Order, binding: models.Binding | None,
              shipment: models.Shipment | None, now: datetime) -> _Job:
    """Work waiting on a backoff: bring it forward. A live lease (a worker is on it right now) is
    never touched; a row whose request may still be in flight waits for its horizon."""
    for row, model, states, may_be_in_flight, kind, target_id, what in (
            (binding, models.Binding, ("new", "creating"), "creating", "create", order.id,
             "creating the order in the shop"),
            (shipment, models.Shipment, ("pending", "sending"), "sending", "push", shipment and shipment.id,
             "sending the shipment")):
        if row is None or row.state not in states or row.next_attempt_at is None or row.next_attempt_at <= now:
            continue
        not_before = _horizon(ctx, row.updated_at, now) if row.state == may_be_in_flight else None
        if not_before is not None and not_before >= row.next_attempt_at:
            return _Job("", target_id, 0, f"{what}: the next attempt is already as soon as is safe"
                                          f"{_later(row.next_attempt_at, now)}")
        moved = s.execute(
            update(model)
            .where(model.id == row.id, model.state == row.state, model.next_attempt_at > now,
                   or_(model.lease_until.is_(None), model.lease_until < now))
            .values(next_attempt_at=not_before)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise ActionRefused("orderbridge is working on this order right now: look again in a moment")
        timeline.record(s, order.id, "note", f"{WHO}: {what} without waiting for the retry delay")
        return _Job(kind, target_id, _delay(not_before, now), f"{what}{_later(not_before, now)}")
    raise ActionRefused("nothing to resend: the order is not in error and nothing is waiting to be retried")


# ---------------------------------------------------------------- cancellations, returns, stock
def _cancellation_or_return_waiting(ctx, s: Session, order: models.Order, now: datetime) -> _Job | None:
    """A cancellation waiting on a retry, a return whose handling failed or waits on a retry: the
    first found, moved by compare-and-set; None when there is none."""
    c = s.scalar(select(models.Cancellation)
                 .where(models.Cancellation.order_id == order.id,
                        models.Cancellation.state.in_(("shop_pending", "shop_sending", "pending", "sending")),
                        models.Cancellation.next_attempt_at > now)
                 .order_by(models.Cancellation.id).limit(1))
    if c is not None:
        return _bring_forward(ctx, s, order, models.Cancellation, c, ("shop_sending", "sending"), "cancel",
                              "cancelling", now)
    r = s.scalar(select(models.Return)
                 .where(models.Return.order_id == order.id,
                        or_(models.Return.handle_state == "failed", models.Return.shop_state == "error"))
                 .order_by(models.Return.id).limit(1))
    if r is not None:
        return _resend_return(ctx, s, order, r, now)
    r = s.scalar(select(models.Return)
                 .where(models.Return.order_id == order.id, models.Return.next_attempt_at > now,
                        or_(models.Return.shop_state.in_(("pending", "sending")),
                            models.Return.handle_state.in_(("pending", "sending"))))
                 .order_by(models.Return.id).limit(1))
    if r is not None:
        in_flight = ("sending",)
        sending = r.shop_state in in_flight or r.handle_state in in_flight
        return _bring_forward(ctx, s, order, models.Return, r, None, "return", f"return {r.rma_id}", now,
                              may_be_in_flight=sending)
    return None


def _bring_forward(ctx, s: Session, order: models.Order, model, row, in_flight_states, kind: str, what: str,
                   now: datetime, *, may_be_in_flight: bool | None = None) -> _Job:
    """Push now a row waiting on its backoff, never before the horizon of a call that may still
    be running, never under a worker's live lease."""
    if may_be_in_flight is None:
        may_be_in_flight = row.state in in_flight_states
    not_before = _horizon(ctx, row.updated_at, now) if may_be_in_flight else None
    if not_before is not None and not_before >= row.next_attempt_at:
        return _Job("", row.id, 0, f"{what}: the next attempt is already as soon as is safe"
                                   f"{_later(row.next_attempt_at, now)}")
    moved = s.execute(
        update(model)
        .where(model.id == row.id, model.next_attempt_at > now, or_(model.lease_until.is_(None), model.lease_until < now))
        .values(next_attempt_at=not_before)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise ActionRefused("orderbridge is working on this order right now: look again in a moment")
    timeline.record(s, order.id, "note", f"{WHO}: {what} without waiting for the retry delay")
    return _Job(kind, row.id, _delay(not_before, now), f"{what}{_later(not_before, now)}")


def _resend_return(ctx, s: Session, order: models.Order, r: models.Return, now: datetime) -> _Job:
    """The shop step again (`sending`: the note / refund record is looked up before it is written,
    as a failed attempt may have written it), or the handling on the marketplace: looked up first
    (`sending`) when the last call's outcome is unknown, sent afresh (`pending`) when the
    marketplace definitively refused it. Not before the horizon of the last call."""
    if r.shop_state == "error":
        values, where = {"shop_state": "sending"}, models.Return.shop_state == "error"
        what, unknown = f"telling the shop about return {r.rma_id} again", True
    else:
        unknown = r.sent_at is not None      # cleared when the marketplace definitively said no
        values = {"handle_state": "sending" if unknown else "pending", "process_id": None}
        where = models.Return.handle_state == "failed"
        what = f"handling return {r.rma_id} on the marketplace again"
    not_before = _horizon(ctx, r.updated_at, now) if unknown else None
    moved = s.execute(
        update(models.Return)
        .where(models.Return.id == r.id, where, or_(models.Return.lease_until.is_(None), models.Return.lease_until < now))
        .values(attempts=0, next_attempt_at=not_before, lease_until=None, last_error=None, **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        if r.lease_until is not None and r.lease_until >= now:
            raise ActionRefused(f"return {r.rma_id} is being worked on right now: try again in a moment")
        raise ActionRefused("the return was already resent")
    how = " (looked up first: an earlier attempt may have reached it)" if unknown else ""
    timeline.record(s, order.id, "note", f"{WHO}: {what}{how}")
    return _Job("return", r.id, _delay(not_before, now), f"{what}{_later(not_before, now)}")


def resend_stock(ctx: SyncContext, shop_id: int, link_id: int) -> str:
    """The Stock tab's Resend of a product in Error: a new pending update of its offer (the value
    is computed when it is sent, so it is the shop's newest). Nothing is doubled: an update
    already waiting is the one that goes; one being sent right now is refused; and nothing leaves
    before the in-flight horizon of the failed update (it may still land on the marketplace)."""
    from plugin.sync.sync_stock import lock_link, queue_update
    now = ctx.clock()
    with ctx.db.session() as s:
        link = s.get(models.OfferLink, link_id)
        conn = s.get(models.Connection, link.connection_id) if link is not None else None
        if conn is None or conn.shop_id != shop_id:
            raise ActionRefused("no such product in this shop")
        if not shop_active(s.get(models.Shop, shop_id)):
            raise ActionRefused("the shop is disconnected: reinstall the app to resume")
        if not shop_settings(s.get(models.Shop, shop_id)).get("stock_sync"):
            raise ActionRefused("stock sync is off for this shop")
        link = lock_link(s, link_id)
        if link.stock_status != "error":
            raise ActionRefused("nothing to resend: this product's stock is not in error")
        updates = models.StockUpdate
        if s.scalar(select(updates.id).where(updates.link_id == link_id, updates.state == "sending")) is not None:
            raise ActionRefused("this product's stock is being sent right now: look again in a moment")
        failed = s.scalar(select(updates).where(updates.link_id == link_id, updates.state == "error")
                          .order_by(updates.id.desc()).limit(1))
        not_before = _horizon(ctx, failed.updated_at, now) if failed is not None else None
        if not_before is not None and (link.hold_until is None or link.hold_until < not_before):
            link.hold_until = not_before      # the pusher sends nothing for this offer before
        link.checked_at = None if not link.offer_id else link.checked_at   # look the offer up again
        if not queue_update(s, link, None, "resend", now):
            raise ActionRefused("an update of this product is already waiting to be sent")
        connection_id = conn.id
    ctx.queue.push_stock(connection_id, delay=_delay(not_before, now))
    return f"sending this product's stock again{_later(not_before, now)}"
