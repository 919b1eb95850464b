"""Use case: cancellations, both ways, exactly once.

Marketplace -> shop (the buyer asked): the connection's poll sees a cancellation request on lines
of a known order (import_orders -> buyer_requests). Lines the buyer asks for the first time are
remembered and told on the timeline once. With the shop's `marketplace_cancellations` on, open
lines get a cancellation row (state shop_pending): the shop order is cancelled (every open line)
or the lines removed (some), so the shop gives their stock back, and then the marketplace is told
with reason REQUESTED_BY_CUSTOMER. A line already shipped (or an order completed in the shop) is
not cancelled in the shop: the timeline says why, and the marketplace refuses the buyer's request
by itself. An order not yet in the shop (binding `new`) is never created there.

Shop -> marketplace (the merchant cancelled in the shop, via webhook or the shop poll):
apply_shop_change moves the order to pending_cancellation and writes the row (state pending) in
the same transaction, with the shop's cancel_reason_code (REQUESTED_BY_CUSTOMER when the buyer
had asked for every line). Cancelled once the marketplace's process says SUCCESS; FAILURE is an
error with the marketplace's reason.

Every step commits its state before the call. The shop calls are idempotent (an already
cancelled order, lines already gone), so they are simply repeated after an unknown outcome; the
marketplace call is not, so `sending` after a lost answer first asks the marketplace for the
process an earlier call started (find_cancellation_process). Nothing is looked up or sent again
before the in-flight horizon (retry_delay after a timeout; the lease after a killed worker).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from adapters.errors import AdapterError
from plugin.domain import REQUESTED_BY_CUSTOMER, OrderStatus, Outcome, lifecycles
from plugin.store import models, timeline
from plugin.store.orders import OPEN_CANCELLATION, to_domain, write_back
from plugin.store.outbox_rows import OutboxRows
from plugin.sync import outbox
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import DISCONNECTED, shop_active
from plugin.sync.ports import CancelItems, ProcessResult
from plugin.sync.push_shipment import open_quantity
from plugin.sync.shop_settings import shop_settings
from plugin.sync.stepped_write import SteppedWrite
from plugin.sync.unsupported_writes import why_not_cancellable

log = logging.getLogger(__name__)

MARKETPLACE = "marketplace"   # the buyer asked on the marketplace
SHOP = "shop"                 # the merchant cancelled in the shop
MAX_ATTEMPTS = 12
ROWS = OutboxRows(models.Cancellation, lifecycles.CANCELLATION)
WAIT_FOR_CREATION = 5.0
LOOKUP_MARGIN = timedelta(minutes=5)


def line_key(line_ids) -> str:
    key = ",".join(sorted(str(i) for i in line_ids))
    return key if len(key) <= 400 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _describe(order: models.Order, line_ids) -> str:
    titles = {line.external_line_id: line.title for line in order.lines}
    parts = [f"{i} ({titles[i]})" if titles.get(i) else str(i) for i in line_ids]
    return ("line " if len(parts) == 1 else "lines ") + ", ".join(parts)


def add_cancellation(s: Session, order: models.Order, direction: str, line_ids, reason_code: str, state: str,
                     shop_action: str | None = None) -> int:
    """The outbox row, in the caller's transaction. Unique per order and set of lines."""
    key = line_key(line_ids)
    existing = s.scalar(select(models.Cancellation).where(models.Cancellation.order_id == order.id,
                                                          models.Cancellation.line_key == key))
    if existing is not None:
        return existing.id
    row = models.Cancellation(order_id=order.id, direction=direction, line_ids=list(line_ids), line_key=key,
                              reason_code=reason_code, state=state, shop_action=shop_action)
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:
        return s.scalar(select(models.Cancellation.id).where(models.Cancellation.order_id == order.id,
                                                             models.Cancellation.line_key == key))
    return row.id


# ---------------------------------------------------------------- marketplace -> shop: the buyer asked
def buyer_requests(ctx: SyncContext, connection_id: int, external_id: str, requested: tuple[str, ...]) -> str:
    """The marketplace shows the buyer's cancellation request on these lines of a known order."""
    if not requested:
        return "nothing new"
    for _ in range(5):
        try:
            outcome, cancellation_id = _buyer_requests(ctx, connection_id, external_id, tuple(requested))
        except StaleDataError:
            continue
        if cancellation_id is not None:
            ctx.queue.push_cancellation(cancellation_id)
        return outcome
    raise RuntimeError(f"order {external_id} kept changing under us")


def _buyer_requests(ctx: SyncContext, connection_id: int, external_id: str, requested: tuple[str, ...]):
    with ctx.db.session() as s:
        order = s.scalar(select(models.Order).where(models.Order.connection_id == connection_id,
                                                    models.Order.external_id == external_id))
        if order is None:
            return "unknown order", None
        conn = s.get(models.Connection, connection_id)
        settings = shop_settings(s.get(models.Shop, order.shop_id))
        apply = bool(settings.get("marketplace_cancellations", True))
        domain = to_domain(order)
        plan = domain.buyer_requests(requested, apply=apply)
        if not plan.newly_requested:
            return "nothing new", None
        write_back(order, domain)
        timeline.record(s, order.id, "note", f"{conn.marketplace}: the buyer asked to cancel "
                                             f"{_describe(order, plan.newly_requested)}")
        if not apply:
            timeline.record(s, order.id, "note", "automatic cancellation is off for this shop: cancel the order in "
                                                 "the shop and orderbridge confirms it on the marketplace")
            return "recorded (automatic cancellation off)", None
        for line_id, why in plan.refused:
            timeline.record(s, order.id, "note", f"{_describe(order, [line_id])} not cancelled in the shop: {why}; "
                                                 f"{conn.marketplace} refuses the buyer's request by itself",
                            outcome="error")
        if plan.outcome is not None and plan.outcome.status is not None:
            timeline.record(s, order.id, "state", f"{plan.outcome.status.value}: {plan.outcome.reason}")
        if not plan.cancel:
            return "refused", None
        cancellation_id = add_cancellation(s, order, MARKETPLACE, plan.cancel, REQUESTED_BY_CUSTOMER, "shop_pending",
                                           "cancel_order" if plan.whole else "remove_lines")
        return ("cancelling the order" if plan.whole else "cancelling lines"), cancellation_id


# ---------------------------------------------------------------- shop -> marketplace: the merchant cancelled
def shop_cancelled(s: Session, order: models.Order, outcome: Outcome, settings: dict) -> int | None:
    """In apply_shop_change's transaction: the order just moved to pending_cancellation."""
    lines = outcome.cancel_lines
    if not lines:
        return None   # every open line's cancellation is on its way already (the buyer's)
    by_id = {line.external_line_id: line for line in order.lines}
    asked = all(by_id[i].cancellation_requested for i in lines if i in by_id)
    reason = REQUESTED_BY_CUSTOMER if asked else (settings.get("cancel_reason_code") or "OUT_OF_STOCK")
    return add_cancellation(s, order, SHOP, lines, reason, "pending")


# ---------------------------------------------------------------- the job: one step at a time
def push_cancellation(ctx: SyncContext, cancellation_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        c = s.get(models.Cancellation, cancellation_id)
        if c is None or c.state not in OPEN_CANCELLATION:
            return "nothing to do"
        if c.next_attempt_at and c.next_attempt_at > now + timedelta(seconds=1):
            return "not yet"
        if not shop_active(s.get(models.Shop, c.order.shop_id)):
            return DISCONNECTED
        state = c.state
        if not ROWS.claim(s, cancellation_id, (state,), now, now + lease(ctx.settings),
                          count_attempt=state != "submitted"):
            return "busy"
    if state in ("shop_pending", "shop_sending"):
        outcome = _shop_step(ctx, cancellation_id)
        if outcome == "shop done":
            return push_cancellation(ctx, cancellation_id)
        return outcome
    if state in ("pending", "sending"):
        return _send(ctx, cancellation_id)
    return _follow(ctx, cancellation_id)


def _shop_step(ctx: SyncContext, cancellation_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        c = s.get(models.Cancellation, cancellation_id)
        order = c.order
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order.id))
        target, lookup = None, None
        if binding is None or binding.state in ("cancelled", "manual"):
            pass
        elif binding.state == "new" and c.shop_action == "cancel_order":
            # never sent to the shop: it never will be now
            moved = s.execute(update(models.Binding)
                              .where(models.Binding.id == binding.id, models.Binding.state == "new",
                                     or_(models.Binding.lease_until.is_(None), models.Binding.lease_until < now))
                              .values(state="cancelled", next_attempt_at=None)
                              .execution_options(synchronize_session=False)).rowcount
            if moved != 1:
                return _wait_for_creation(ctx, s, c)
            timeline.record(s, order.id, "note", "not created in the shop: the buyer cancelled it before")
        elif binding.state == "new":   # some lines only: the order is created, then these lines removed
            return _wait_for_creation(ctx, s, c)
        elif binding.state == "creating":
            return _wait_for_creation(ctx, s, c)
        elif binding.shop_order_id is not None:
            target = binding.shop_order_id
        elif binding.first_attempt_at is not None:   # creation given up: an attempt may have made it
            lookup = (binding.ref, binding.first_attempt_at - LOOKUP_MARGIN)
        conn = s.get(models.Connection, order.connection_id)
        shop_row = s.get(models.Shop, order.shop_id)
        settings = shop_settings(shop_row)
        line_ids = tuple(c.line_ids)
        action = c.shop_action
        attempts = c.attempts
        note = (f"{conn.marketplace} order {order.external_id}: {_describe(order, line_ids)} cancelled at the "
                f"buyer's request [orderbridge]")
        shop = ctx.adapters.shop(shop_row) if (target or lookup) else None
        shop_id = order.shop_id
        lines_stock = [(line.ean, line.sku) for line in order.lines if line.external_line_id in line_ids]
    # The shop order as it is now, read right before the decision: the merchant may have
    # completed (shipped) it since the buyer's request was planned.
    view = None
    try:
        if lookup is not None:
            view = shop.find_order_by_ref(*lookup)
            target = view.id if view is not None else None
        elif target is not None:
            view = shop.get_order(target)
    except AdapterError as exc:
        return CancellationWrite(ctx, "shop").failed(cancellation_id, exc, attempts)
    decision, shipment_ids = _decide(ctx, cancellation_id, view, settings)
    for shipment_id in shipment_ids:
        ctx.queue.push_shipment(shipment_id)
    if decision != "go":
        return decision
    # committed: `shop_sending` before any call to the shop
    done = "not in the shop: nothing to cancel there"
    try:
        if target is not None and action == "cancel_order":
            shop_order = shop.cancel_order(target, note)
            done = f"shop: order #{shop_order.number} cancelled (its stock given back)"
        elif target is not None:
            shop_order = shop.remove_lines(target, line_ids, note)
            done = f"shop: {_describe_ids(line_ids)} removed from order #{shop_order.number} (stock given back)"
    except AdapterError as exc:
        return CancellationWrite(ctx, "shop").failed(cancellation_id, exc, attempts)
    with ctx.db.session() as s:
        moved = ROWS.move(s, cancellation_id, ("shop_sending",), "pending", shop_done_at=ctx.clock(),
                          lease_until=None, last_error=None, next_attempt_at=None, attempts=0)
        if moved:
            timeline.record(s, s.get(models.Cancellation, cancellation_id).order_id, "call", done)
    if target is not None:
        from plugin.sync.sync_stock import stock_moved_for_lines
        stock_moved_for_lines(ctx, shop_id, lines_stock, "cancellation")
    return "shop done" if moved else "already done"


def _decide(ctx: SyncContext, cancellation_id: int, view, settings: dict) -> tuple[str, list[int]]:
    """Cancel in the shop, or refuse because the order left meanwhile: decided on the order row
    locked (FOR UPDATE on PostgreSQL; SQLite serialises writers) and its version bumped, the way
    every order change is serialised. A shop view applied at the same moment (the merchant's
    completion, through apply_shop_change) makes one of the two read again (StaleDataError), so
    either the completion is seen here and the request refused, or the lines are `cancelling`
    when the completion is applied and its shipment leaves them out. Returns ("go" | why not,
    the ids of shipments to push)."""
    for _ in range(5):
        try:
            return _decide_once(ctx, cancellation_id, view, settings)
        except StaleDataError:
            continue
    raise RuntimeError(f"order of cancellation {cancellation_id} kept changing under us")


def _decide_once(ctx: SyncContext, cancellation_id: int, view, settings: dict) -> tuple[str, list[int]]:
    now = ctx.clock()
    with ctx.db.session() as s:
        c = s.get(models.Cancellation, cancellation_id, populate_existing=True)
        if c.state not in ("shop_pending", "shop_sending"):
            return "already done", []
        order = s.scalars(select(models.Order).where(models.Order.id == c.order_id).with_for_update()
                          .execution_options(populate_existing=True)).one()
        why = _left_meanwhile(order, c, view, settings) if c.direction == MARKETPLACE else None
        if why is None:
            c.state = "shop_sending"
            order.updated_at = now   # the version moves: a concurrent change of the order retries
            return "go", []
        return "refused", _refuse(ctx, s, c, order, view, settings, why)


def _left_meanwhile(order: models.Order, c: models.Cancellation, view, settings: dict) -> str | None:
    """Why the buyer's request can no longer be applied in the shop: the merchant completed the
    order after the request was planned. None: go ahead."""
    from plugin.sync.apply_shop_change import shop_view
    status = OrderStatus(order.error_from if order.status == OrderStatus.ERROR and order.error_from else order.status)
    if status is OrderStatus.SHIPPED and c.shop_action == "remove_lines":
        # shipped while these lines were `cancelling`: its shipment leaves them out, so removing
        # them keeps both sides consistent (nothing shipped is cancelled, nothing cancelled shipped)
        return None
    if status in (OrderStatus.WAITING, OrderStatus.SHIPPED, OrderStatus.MANUAL):
        return f"the order was {status.value.replace('_', ' ')} in the meantime: the parcel has left"
    if view is not None:
        seen = shop_view(view, settings)
        if not seen.cancelled and (seen.completed or seen.tracking_number):
            return f"the merchant completed shop order #{view.number} ({view.status}) before it was cancelled there"
    return None


def _refuse(ctx: SyncContext, s: Session, c: models.Cancellation, order: models.Order, view, settings: dict,
            why: str) -> list[int]:
    """The request is not applied: nothing is cancelled in the shop and nothing confirmed on the
    marketplace (which refuses the buyer's request by itself once the order ships). Its lines are
    open again, so the merchant's completion ships them. Returns the shipments to push."""
    from plugin.sync.apply_shop_change import add_shipment, shop_view
    from plugin.sync.push_shipment import order_shipments, with_shipments
    now = ctx.clock()
    c.state = "refused"
    c.lease_until = None
    c.done_at = now
    c.last_error = why
    s.flush()
    s.expire(order, ["cancellations"])   # its lines are no longer `cancelling`
    domain = with_shipments(to_domain(order), order_shipments(s, order.id), order)
    domain.cancellation_refused(tuple(c.line_ids or ()), why)
    timeline.record(s, order.id, "note", f"the buyer's request to cancel {_describe(order, c.line_ids)} is refused: "
                                         f"{why}; nothing was cancelled in the shop, and the marketplace refuses "
                                         f"the request by itself once the order ships", outcome="error")
    outcome = domain.apply_shop_view(shop_view(view, settings), now) if view is not None else None
    write_back(order, domain)
    if view is not None and view.date_modified and (order.shop_modified_at is None
                                                    or view.date_modified > order.shop_modified_at):
        order.shop_modified_at = view.date_modified
    if outcome is not None and outcome.status is not None:
        timeline.record(s, order.id, "state", f"{outcome.status.value}: {outcome.reason} (shop #{view.number}, "
                                              f"read before cancelling)")
    return [add_shipment(s, order, plan) for plan in (outcome.shipments if outcome is not None else ())]


def _describe_ids(line_ids) -> str:
    return ("line " if len(line_ids) == 1 else "lines ") + ", ".join(line_ids)


def _wait_for_creation(ctx: SyncContext, s: Session, c: models.Cancellation) -> str:
    """The order is being created in the shop right now: cancel it once it is there."""
    c.lease_until = None
    c.next_attempt_at = ctx.clock() + timedelta(seconds=WAIT_FOR_CREATION)
    c.attempts = max(0, c.attempts - 1)
    ctx.queue.push_cancellation(c.id, delay=WAIT_FOR_CREATION)
    return "waiting for the order to be in the shop"


def _send(ctx: SyncContext, cancellation_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        c = s.get(models.Cancellation, cancellation_id)
        order = c.order
        conn = s.get(models.Connection, order.connection_id)
        settings = shop_settings(s.get(models.Shop, order.shop_id))
        request = CancelItems(external_order_id=order.external_id, line_ids=tuple(c.line_ids),
                              reason_code=c.reason_code)
        if settings.get("test_mode"):
            c.state = "test"
            c.done_at = now
            c.lease_until = None
            timeline.record(s, order.id, "call", f"test mode: cancellation of {_describe(order, request.line_ids)} "
                                                 f"NOT sent to the marketplace (reason {c.reason_code})")
            _confirmed(s, order, request.line_ids, "cancelled (test mode: not sent to the marketplace)")
            return "test mode"
        marketplace = ctx.adapters.marketplace(conn)
        may_exist = c.state == "sending"
        if c.state == "pending":
            unsupported = why_not_cancellable(marketplace.capabilities, request,
                                              [line.external_line_id for line in order.lines if open_quantity(line)])
            if unsupported:
                _give_up(s, c, f"not sent: {unsupported}", now)
                return "error"
            c.state = "sending"
            c.sent_at = now
        claimed = outbox.Claimed(request, marketplace, c.attempts, may_exist)
    # committed: `sending` is on disk before the request leaves
    return outbox.send(CancellationWrite(ctx), cancellation_id, claimed, clock=ctx.clock,
                       in_flight_seconds=ctx.settings.in_flight_seconds)


def _follow(ctx: SyncContext, cancellation_id: int) -> str:
    with ctx.db.session() as s:
        c = s.get(models.Cancellation, cancellation_id)
        following = outbox.Following(ctx.adapters.marketplace(s.get(models.Connection, c.order.connection_id)),
                                     c.process_id, (ctx.clock() - (c.sent_at or c.created_at)).total_seconds())
    return outbox.follow(CancellationWrite(ctx), cancellation_id, following)


class CancellationWrite(SteppedWrite):
    """A cancellation's life, as the outbox runner drives it: the marketplace step (`step`
    "marketplace"), and the retry rules of the shop step before it ("shop"). The row's own job
    (push_cancellation) takes the lease before each step, following included."""

    max_attempts = MAX_ATTEMPTS
    rows, job, first_step = ROWS, "push_cancellation", "marketplace"
    send_with, look_up_with = "cancel_items", "find_cancellation_process"

    def submitted(self, cancellation_id: int, claimed: outbox.Claimed, result: ProcessResult, *,
                  found: bool) -> None:
        request = claimed.request
        with self.ctx.db.session() as s:
            if ROWS.submitted(s, cancellation_id, result.process_id):
                c = s.get(models.Cancellation, cancellation_id)
                what = "found the cancellation an earlier attempt sent" if found else "cancellation sent"
                timeline.record(s, c.order_id, "call", f"{claimed.marketplace.name}: {what} for "
                                                       f"{_describe(c.order, request.line_ids)} (reason "
                                                       f"{request.reason_code}), process {result.process_id}")

    def finish(self, cancellation_id: int, result: ProcessResult) -> str:
        return _finish(self.ctx, cancellation_id, result)

    def retry_later(self, cancellation_id: int, error: AdapterError, at, delay: float, *, not_sent: bool) -> None:
        for _ in range(5):
            try:
                with self.ctx.db.session() as s:
                    c = s.get(models.Cancellation, cancellation_id)
                    ROWS.back_off(c, str(error), at, not_sent=not_sent)
                    timeline.record(s, c.order_id, "call", f"{self._where}: cancellation not confirmed, retrying "
                                                           f"in {delay:.1f} s: {error}", outcome="retry")
                return
            except StaleDataError:
                continue
        raise RuntimeError(f"order of cancellation {cancellation_id} kept changing under us")

    def give_up(self, cancellation_id: int, error: AdapterError, *, not_sent: bool) -> str:
        for _ in range(5):
            try:
                with self.ctx.db.session() as s:
                    c = s.get(models.Cancellation, cancellation_id)
                    if not_sent:
                        ROWS.not_sent(c)
                    what = ("could not cancel in the shop" if self.step == "shop"
                            else "the marketplace refused the cancellation")
                    _give_up(s, c, f"{what}: {error}", self.ctx.clock())
                return "error"
            except StaleDataError:
                continue
        raise RuntimeError(f"order of cancellation {cancellation_id} kept changing under us")


def _give_up(s: Session, c: models.Cancellation, reason: str, now) -> None:
    """The cancellation failed for good: the row and its order show why (the merchant resends or
    handles it)."""
    c.state = "failed"
    c.lease_until = None
    c.last_error = reason[:2000]
    c.done_at = now
    _order_error(s, c.order, tuple(c.line_ids), reason)


def _confirmed(s: Session, order: models.Order, line_ids, reason: str) -> None:
    domain = to_domain(order)
    out = domain.cancellation_confirmed(tuple(line_ids), reason)
    write_back(order, domain)
    if out.status is not None:
        timeline.record(s, order.id, "state", f"{out.status.value}: {out.reason}")


def _finish(ctx: SyncContext, cancellation_id: int, result: ProcessResult) -> str:
    for _ in range(5):
        try:
            return _finish_once(ctx, cancellation_id, result)
        except StaleDataError:
            continue
    raise RuntimeError(f"order of cancellation {cancellation_id} kept changing under us")


def _finish_once(ctx: SyncContext, cancellation_id: int, result: ProcessResult) -> str:
    now = ctx.clock()
    ok = result.status == "SUCCESS"
    with ctx.db.session() as s:
        moved = ROWS.move(
            s, cancellation_id, ("submitted", "sending"), "success" if ok else "failed", done_at=now,
            lease_until=None, process_id=result.process_id, last_error=None if ok else (result.error or result.status),
            # FAILURE: nothing was cancelled; TIMEOUT: unknown, a resend looks it up first
            **({"sent_at": None} if result.status == "FAILURE" else {}))
        if not moved:
            return "already finished"
        c = s.get(models.Cancellation, cancellation_id)
        order = c.order
        line_ids = tuple(c.line_ids)
        if ok:
            timeline.record(s, order.id, "call", f"marketplace confirmed the cancellation of "
                                                 f"{_describe(order, line_ids)} (process {result.process_id}: SUCCESS)")
            why = ("cancelled at the buyer's request" if c.direction == MARKETPLACE
                   else "cancelled in the shop, confirmed by the marketplace")
            _confirmed(s, order, line_ids, why)
            return "success"
        reason = f"marketplace refused the cancellation ({result.status}): {result.error or 'no reason given'}"
        _order_error(s, order, line_ids, reason)
        return "failed"


def _order_error(s: Session, order: models.Order, line_ids, reason: str) -> None:
    domain = to_domain(order)
    domain.cancellation_failed(tuple(line_ids), reason)
    write_back(order, domain)
    timeline.record(s, order.id, "state", f"error: {reason}", outcome="error")
