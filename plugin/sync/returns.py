"""Use case: returns, both ways, each once.

Marketplace -> shop: every returns_poll_seconds (default hourly) a connection's open returns are
read (list_returns(handled=False)); each RMA is recorded once (unique per connection and RMA id)
against its order and told to the shop, per the shop's returns_action: an order note, or a refund
record of that line and quantity with `api_refund` off (no money moves without the merchant).
Our refund records carry a marker in their meta (`_orderbridge_return`; older ones in their
reason), our notes in their text, so they are never mistaken for the merchant's, and after a lost
answer they are looked up before being written again.

Shop -> marketplace: the merchant handles the return in the shop by refunding the returned line
(seen through order.updated / the shop poll, which hint the return's job; the job reads the
order's refunds). The marketplace is then told once: handle_return with the shop's
return_handling_result and the quantity refunded (at most what was returned), followed to its
process status. Refunded quantities are consumed (two returns of one line never share one refunded
unit); a refund without lines handles open returns only when that is unambiguous. `sending` is
committed before the call; after a lost answer the job first looks up the process an earlier call
started for this return (find_return_process) and follows that one instead of sending again.
A return handled on the marketplace directly leaves the open list: the poll records its result.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.errors import AdapterError, Rejected
from plugin.domain import (
    DomainError,
    RefundClaimant,
    Return,
    ReturnState,
    allocate_refunds,
    lifecycles,
    unit_price,
)
from plugin.store import models, timeline
from plugin.store.cursors import poll_failed, poll_succeeded
from plugin.store.outbox_rows import OutboxRows
from plugin.sync import outbox
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import DISCONNECTED, shop_active
from plugin.sync.dispatch import periodic_failed, periodic_succeeded
from plugin.sync.ports import ProcessResult, RefundLine, ReturnHandling
from plugin.sync.shop_settings import shop_settings
from plugin.sync.stepped_write import SteppedWrite

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
ROWS = OutboxRows(models.Return, lifecycles.RETURN_HANDLING, "handle_state")   # the handling's life on the marketplace
SHOP_ROWS = OutboxRows(models.Return, lifecycles.RETURN_SHOP, "shop_state")   # telling the shop about the return
WAIT_FOR_SHOP_ORDER = 30.0
MARKER = "[orderbridge"


def marker(marketplace: str, rma_id: str) -> str:
    """Written into our note / refund reason: a refund carrying it is ours, not the merchant's."""
    return f"{MARKER} {marketplace} return {rma_id}]"


# ---------------------------------------------------------------- the poll
def poll_returns(ctx: SyncContext, connection_id: int) -> dict:
    stream = f"connection:{connection_id}:returns"
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None or not conn.enabled or not shop_active(s.get(models.Shop, conn.shop_id)):
            return {}
        marketplace = ctx.adapters.marketplace(conn)
        if not marketplace.capabilities.returns:
            return {}
        shop_id, name = conn.shop_id, conn.marketplace
    started = ctx.clock()
    try:
        open_returns = list(marketplace.list_returns(handled=False))
    except AdapterError as exc:
        with ctx.db.session() as s:
            poll_failed(s, stream, str(exc))
        periodic_failed(ctx, connection_id, "returns", exc)   # sooner than the hour when retryable
        raise
    counts = {"open": len(open_returns), "new": 0, "handled elsewhere": 0}
    new_ids: list[int] = []
    open_rmas = {r.rma_id for r in open_returns}
    with ctx.db.session() as s:
        known = set(s.scalars(select(models.Return.rma_id).where(models.Return.connection_id == connection_id,
                                                                 models.Return.rma_id.in_(list(open_rmas)))))
        ext_ids = list({r.external_order_id for r in open_returns if r.rma_id not in known})
        orders = {o.external_id: o for o in s.scalars(select(models.Order).where(
            models.Order.connection_id == connection_id, models.Order.external_id.in_(ext_ids)))}
        for r in open_returns:
            if r.rma_id in known:
                continue
            order = orders.get(r.external_order_id)
            row = models.Return(connection_id=connection_id, shop_id=shop_id, order_id=order.id if order else None,
                                rma_id=r.rma_id, return_id=r.return_id or "", external_order_id=r.external_order_id,
                                line_id=r.line_id, quantity=r.quantity, reason=r.reason or "",
                                registered_at=r.registered_at, state=ReturnState.REGISTERED.value,
                                shop_state="pending" if order else "skipped",
                                last_error=None if order else "not an order orderbridge imported")
            try:
                with s.begin_nested():
                    s.add(row)
            except IntegrityError:
                continue    # another poll recorded it first
            known.add(r.rma_id)
            counts["new"] += 1
            new_ids.append(row.id)
            if order is not None:
                timeline.record(s, order.id, "note", f"{name}: return {r.rma_id} registered: {r.quantity} x "
                                                     f"{_line_title(order, r.line_id)}"
                                                     + (f", reason: {r.reason}" if r.reason else ""))
        gone = list(s.scalars(select(models.Return.id).where(
            models.Return.connection_id == connection_id, models.Return.state == ReturnState.REGISTERED.value,
            or_(models.Return.handle_state.is_(None), models.Return.handle_state == "failed"),
            models.Return.rma_id.not_in(list(open_rmas)) if open_rmas else models.Return.id.isnot(None))))
    if gone:
        try:
            counts["handled elsewhere"] = _handled_elsewhere(ctx, marketplace, name, gone)
        except AdapterError as exc:
            with ctx.db.session() as s:
                poll_failed(s, stream, str(exc))
            periodic_failed(ctx, connection_id, "returns", exc)
            raise
    with ctx.db.session() as s:
        poll_succeeded(s, stream, started, ctx.clock())
    periodic_succeeded(ctx, connection_id, "returns")
    for return_id in new_ids:
        ctx.queue.push_return(return_id)
    return counts


def _handled_elsewhere(ctx: SyncContext, marketplace, name: str, row_ids: list[int]) -> int:
    """Returns that left the open list without us: handled on the marketplace directly. Each is
    recorded with the result the marketplace reports in its handled list; one the handled list
    does not show (yet) stays open here, says why, and is looked for again at the next poll."""
    handled = {r.rma_id: r for r in marketplace.list_returns(handled=True)}
    n = 0
    now = ctx.clock()
    with ctx.db.session() as s:
        for row in s.scalars(select(models.Return).where(models.Return.id.in_(row_ids))):
            if row.state != ReturnState.REGISTERED.value:
                continue
            found = handled.get(row.rma_id)
            if found is None:
                why = (f"return {row.rma_id} is no longer open on {name}, but {name}'s handled returns do not list "
                       f"it (yet): its handling result is looked for again at the next poll")
                if row.last_error != why and row.order_id:
                    timeline.record(s, row.order_id, "note", why)
                row.last_error = why
                continue
            row.state = ReturnState.HANDLED.value
            row.handling_result = found.handling_result
            row.quantity_returned = found.quantity_returned
            row.handled_at = now
            row.last_error = None
            n += 1
            if row.order_id:
                timeline.record(s, row.order_id, "note", f"{name}: return {row.rma_id} handled on the marketplace "
                                                         f"({found.handling_result or 'no result given'})")
    return n


def _line_title(order: models.Order, line_id: str) -> str:
    line = next((x for x in order.lines if x.external_line_id == line_id), None)
    return f"line {line_id}" + (f" ({line.title})" if line is not None and line.title else "")


def returns_to_check(s: Session, order_id: int) -> list[int]:
    """An order changed in the shop: its returns the merchant may just have refunded."""
    return list(s.scalars(select(models.Return.id).where(
        models.Return.order_id == order_id, models.Return.state == ReturnState.REGISTERED.value,
        models.Return.handle_state.is_(None), models.Return.shop_state.in_(("done", "pending", "sending")))))


# ---------------------------------------------------------------- the job: one step at a time
def _next_step(r: models.Return) -> str | None:
    if r.shop_state in ("pending", "sending"):
        return "shop"
    if r.handle_state in ("pending", "sending"):
        return "handle"
    if r.handle_state == "submitted":
        return "follow"
    if r.state == ReturnState.REGISTERED.value and r.handle_state is None and r.shop_state == "done":
        return "check"
    return None


def push_return(ctx: SyncContext, return_id: int) -> str:
    outcome = "nothing to do"
    for _ in range(4):
        now = ctx.clock()
        with ctx.db.session() as s:
            r = s.get(models.Return, return_id)
            if r is None:
                return "nothing to do"
            if not shop_active(s.get(models.Shop, r.shop_id)):
                return DISCONNECTED
            step = _next_step(r)
            if step is None:
                return outcome
            if step != "check" and r.next_attempt_at and r.next_attempt_at > now + timedelta(seconds=1):
                return "not yet"
            if not ROWS.claim(s, return_id, None, now, now + lease(ctx.settings),
                              count_attempt=step in ("shop", "handle")):
                return "busy"
        outcome = {"shop": _record_in_shop, "check": _check_refunds, "handle": _handle,
                   "follow": _follow}[step](ctx, return_id)
        if outcome not in ("recorded", "refunded by the merchant"):
            return outcome
    return outcome


def _context(s: Session, r: models.Return):
    order = s.get(models.Order, r.order_id) if r.order_id else None
    conn = s.get(models.Connection, r.connection_id)
    shop = s.get(models.Shop, r.shop_id)
    binding = s.scalar(select(models.Binding).where(models.Binding.order_id == r.order_id)) if order else None
    return order, conn, shop, binding


def _record_in_shop(ctx: SyncContext, return_id: int) -> str:
    with ctx.db.session() as s:
        r = s.get(models.Return, return_id)
        order, conn, shop_row, binding = _context(s, r)
        if binding is None or binding.shop_order_id is None:
            if binding is not None and binding.state in ("new", "creating"):
                ROWS.release(s, return_id, next_attempt_at=ctx.clock() + timedelta(seconds=WAIT_FOR_SHOP_ORDER))
                ctx.queue.push_return(return_id, delay=WAIT_FOR_SHOP_ORDER)
                return "waiting for the order to be in the shop"
            ROWS.release(s, return_id, shop_state="skipped", last_error="the order is not in the shop")
            return "skipped"
        may_exist = r.shop_state == "sending"
        r.shop_state = "sending"
        action = shop_settings(shop_row).get("returns_action", "note")
        r.shop_action = action
        mark = marker(conn.marketplace, r.rma_id)
        text = (f"{conn.marketplace} return {r.rma_id}: {r.quantity} x {_line_title(order, r.line_id)} returned by "
                f"the buyer" + (f". Reason: {r.reason}" if r.reason else "") + f". {mark}")
        shop_order_id, line_id, quantity, attempts = binding.shop_order_id, r.line_id, r.quantity, r.attempts
        shop = ctx.adapters.shop(shop_row)
    # committed: `sending` before the call
    note_id = refund_id = None
    try:
        if action == "refund":
            found = None
            if may_exist:   # an earlier attempt may have created it: look before creating again
                found = next((f for f in shop.list_refunds(shop_order_id)
                              if mark in ((f.marker or "") + (f.reason or ""))), None)
            if found is None:
                line = next((x for x in shop.order_lines(shop_order_id) if x.external_line_id == line_id), None)
                if line is None:
                    raise Rejected(f"line {line_id} is not in shop order {shop_order_id}")
                amount = (unit_price(line) * quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                # the marker goes into the refund's meta (WooCommerce refunds keep meta_data):
                # the reason stays the merchant's words
                found = shop.create_refund(shop_order_id, (RefundLine(line.id, quantity, amount),), amount,
                                           text.replace(f" {mark}", ""), marker=mark)
            refund_id = found.id
            done = f"shop: refund #{found.id} of {found.amount} recorded for return {r.rma_id} (no money moved)"
        else:
            # a note has no meta: its marker is in its text. After a lost answer the note may be
            # there already: look it up before writing it again.
            note_id = shop.find_note(shop_order_id, mark) if may_exist else None
            done = (f"shop: note for return {r.rma_id} found (an earlier attempt wrote it)" if note_id
                    else f"shop: note added for return {r.rma_id}")
            if note_id is None:
                note_id = shop.add_note(shop_order_id, text)
    except AdapterError as exc:
        return ReturnHandlingWrite(ctx, "shop").failed(return_id, exc, attempts)
    with ctx.db.session() as s:
        moved = SHOP_ROWS.move(s, return_id, ("sending",), "done", shop_note_id=note_id, shop_refund_id=refund_id,
                               shop_done_at=ctx.clock(), lease_until=None, last_error=None, next_attempt_at=None,
                               attempts=0)
        if moved:
            timeline.record(s, s.get(models.Return, return_id).order_id, "call", done)
    return "recorded" if moved else "already recorded"


def ours(refund, our_refund_id: int | None = None) -> bool:
    """Our own refund record (a return told to the shop), never the merchant's handling: its meta
    marker, or (records written before the meta) the marker in its reason."""
    return (refund.id == our_refund_id or (getattr(refund, "marker", None) or "").startswith(MARKER)
            or MARKER in (refund.reason or ""))


def _claimants(s: Session, order_id: int) -> list[RefundClaimant]:
    """Every return of the order except those handled on the marketplace directly (they consumed
    no refund of the shop)."""
    rows = s.scalars(select(models.Return).where(models.Return.order_id == order_id).order_by(models.Return.id))
    return [RefundClaimant(r.id, r.line_id, r.quantity, r.handle_state is None and r.state == ReturnState.REGISTERED.value,
                      r.merchant_refund_id)
            for r in rows if not (r.state == ReturnState.HANDLED.value and r.handle_state is None)]


def _check_refunds(ctx: SyncContext, return_id: int) -> str:
    with ctx.db.session() as s:
        r = s.get(models.Return, return_id)
        order, conn, shop_row, binding = _context(s, r)
        if binding is None or binding.shop_order_id is None:
            ROWS.release(s, return_id)
            return "not in the shop"
        shop_order_id, line_id, quantity, our_refund = binding.shop_order_id, r.line_id, r.quantity, r.shop_refund_id
        result = shop_settings(shop_row).get("return_handling_result", "RETURN_RECEIVED")
        title, marketplace_name = _line_title(order, line_id), conn.marketplace
        claimants = _claimants(s, order.id)
        shop = ctx.adapters.shop(shop_row)
    try:
        refunds = [f for f in shop.list_refunds(shop_order_id) if not ours(f, our_refund)]
        lines = shop.order_lines(shop_order_id) if refunds else []
    except AdapterError as exc:
        with ctx.db.session() as s:
            ROWS.release(s, return_id, last_error=str(exc)[:2000])
        return "shop unreachable"
    matched, why = allocate_refunds(claimants, refunds, lines)
    refunded, merchant_refund = matched.get(return_id, (0, None))
    with ctx.db.session() as s:
        if refunded <= 0:
            r = s.get(models.Return, return_id)
            if why and r.last_error != why and r.order_id:   # told once, not at every order change
                timeline.record(s, r.order_id, "note", f"return {r.rma_id} not handled: {why}", outcome="error")
            ROWS.release(s, return_id, last_error=why)
            return "not handled in the shop yet"
        try:
            Return(rma_id="", quantity=quantity).handle(result, refunded)   # the rules of a handling
        except DomainError as exc:
            ROWS.release(s, return_id, handle_state="failed", last_error=str(exc))
            return "error"
        moved = s.execute(update(models.Return)
                          .where(models.Return.id == return_id, models.Return.handle_state.is_(None))
                          .values(handle_state="pending", handling_result=result, quantity_returned=refunded,
                                  merchant_refund_id=merchant_refund, lease_until=None, attempts=0,
                                  next_attempt_at=None, last_error=None)
                          .execution_options(synchronize_session=False)).rowcount
        r = s.get(models.Return, return_id)
        if moved and r.order_id:
            timeline.record(s, r.order_id, "note", f"the merchant refunded {refunded} of {title} in the shop "
                                                   f"(refund #{merchant_refund}): return {r.rma_id} is handled on "
                                                   f"{marketplace_name} as {result}")
    return "refunded by the merchant"


def _handle(ctx: SyncContext, return_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        r = s.get(models.Return, return_id)
        order, conn, shop_row, _ = _context(s, r)
        request = ReturnHandling(rma_id=r.rma_id, handling_result=r.handling_result or "RETURN_RECEIVED",
                                 quantity_returned=int(r.quantity_returned or 0))
        if shop_settings(shop_row).get("test_mode"):
            r.handle_state = "test"
            r.lease_until = None
            if r.order_id:
                timeline.record(s, r.order_id, "call", f"test mode: handling of return {r.rma_id} NOT sent to the "
                                                       f"marketplace ({request.handling_result})")
            return "test mode"
        may_exist = r.handle_state == "sending"
        if r.handle_state == "pending":
            r.handle_state = "sending"
            r.sent_at = now
        claimed = outbox.Claimed(request, ctx.adapters.marketplace(conn), r.attempts, may_exist)
    # committed: `sending` before the request leaves
    return outbox.send(ReturnHandlingWrite(ctx), return_id, claimed, clock=ctx.clock,
                       in_flight_seconds=ctx.settings.in_flight_seconds)


def _follow(ctx: SyncContext, return_id: int) -> str:
    with ctx.db.session() as s:
        r = s.get(models.Return, return_id)
        following = outbox.Following(ctx.adapters.marketplace(s.get(models.Connection, r.connection_id)),
                                     r.process_id, (ctx.clock() - (r.sent_at or r.created_at)).total_seconds())
    return outbox.follow(ReturnHandlingWrite(ctx), return_id, following)


class ReturnHandlingWrite(SteppedWrite):
    """A return's handling on the marketplace, as the outbox runner drives it (`step` "handle"),
    and the retry rules of telling the shop about the return before it ("shop"). The return's own
    job (push_return) takes the lease before each step, following included."""

    max_attempts = MAX_ATTEMPTS
    rows, job, first_step = ROWS, "push_return", "handle"
    send_with, look_up_with = "handle_return", "find_return_process"

    def submitted(self, return_id: int, claimed: outbox.Claimed, result: ProcessResult, *, found: bool) -> None:
        request = claimed.request
        with self.ctx.db.session() as s:
            moved = ROWS.submitted(s, return_id, result.process_id)
            r = s.get(models.Return, return_id)
            if moved and r.order_id:
                what = ("was already handled by an earlier attempt" if found else "handled") + \
                    f" as {request.handling_result}, quantity {request.quantity_returned}"
                timeline.record(s, r.order_id, "call", f"{claimed.marketplace.name}: return {r.rma_id} {what}, "
                                                       f"process {result.process_id}")

    def finish(self, return_id: int, result: ProcessResult) -> str:
        return _finish(self.ctx, return_id, result)

    def retry_later(self, return_id: int, error: AdapterError, at, delay: float, *, not_sent: bool) -> None:
        with self.ctx.db.session() as s:
            r = s.get(models.Return, return_id)
            ROWS.back_off(r, str(error), at, not_sent=not_sent and self.step == "handle")
            if r.order_id:
                timeline.record(s, r.order_id, "call", f"{self._where}: return {r.rma_id} not confirmed, retrying in "
                                                       f"{delay:.1f} s: {error}", outcome="retry")

    def give_up(self, return_id: int, error: AdapterError, *, not_sent: bool) -> str:
        with self.ctx.db.session() as s:
            r = s.get(models.Return, return_id)
            r.lease_until = None
            r.last_error = str(error)[:2000]
            if self.step == "shop":
                r.shop_state = "error"
            else:
                if not_sent:
                    ROWS.not_sent(r)
                r.handle_state = "failed"
            if r.order_id:
                timeline.record(s, r.order_id, "call", f"{self._where}: return {r.rma_id} failed: {error}",
                                outcome="error")
        return "error"



def _finish(ctx: SyncContext, return_id: int, result: ProcessResult) -> str:
    now = ctx.clock()
    ok = result.status == "SUCCESS"
    with ctx.db.session() as s:
        values = dict(handle_state="success" if ok else "failed", lease_until=None,
                      last_error=None if ok else (result.error or result.status))
        if result.process_id:
            values["process_id"] = result.process_id
        if ok:
            values.update(state=ReturnState.HANDLED.value, handled_at=now)
        if result.status == "FAILURE":
            values["sent_at"] = None
        moved = ROWS.move(s, return_id, ("submitted", "sending"), values.pop("handle_state"), **values)
        if not moved:
            return "already finished"
        r = s.get(models.Return, return_id)
        if r.order_id is None:
            return "success" if ok else "failed"
        if ok:
            timeline.record(s, r.order_id, "call", f"marketplace confirmed the handling of return {r.rma_id} "
                                                   f"(process {result.process_id}: SUCCESS)")
        else:
            timeline.record(s, r.order_id, "call", f"marketplace refused the handling of return {r.rma_id} "
                                                   f"({result.status}): {result.error or 'no reason given'}",
                            outcome="error")
    return "success" if ok else "failed"
