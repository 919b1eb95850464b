"""Use case: make a shipment true on the marketplace, exactly once, and follow it to the end.

An order may have several shipments (partial shipments: lines shipped with their own T&T), each
unique per (order, key). A line's quantity is never in two live shipments: the use cases writing
them plan against what the order's shipments already cover (`with_shipments`), and the move
pending -> sending checks it again under the order row's version (compare-and-set), so a
shipment resent or written by a racing worker is refused rather than sent twice. At most one
shipment of an order is `sending` at a time: after a lost answer, find_shipment_process then
can only find that one's process (the others' are known and excluded).

The shipment row is the outbox (written with the order's move to shipped). Here it moves
pending -> sending -> submitted -> success | failed by compare-and-set (or pending -> test when
the shop is in test mode: nothing is sent). `sending` is committed
*before* the request leaves, so after a lost answer or a killed worker the next attempt asks the
marketplace for the process an earlier send started (find_shipment_process) before sending again.

`sent_at` is when the request that may have reached the marketplace left. It is cleared when the
marketplace definitively said "not done" (a 4xx or 429 answer to the send, or a FAILURE process
result): then nothing of this shipment is on the marketplace, and a resend starts from `pending`
(transport resolved again from the current rules) instead of looking an earlier send up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from adapters.errors import AdapterError
from plugin.domain import NoTransporter, Order, TransporterRules, lifecycles
from plugin.domain.order import REST
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.store.outbox_rows import OutboxRows
from plugin.sync import outbox
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import DISCONNECTED, shop_active
from plugin.sync.ports import ProcessResult, ShipmentRequest
from plugin.sync.unsupported_writes import why_not_shippable

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
ROWS = OutboxRows(models.Shipment, lifecycles.SHIPMENT)
# A shipment in one of these states covers its lines' quantities without their being shipped
# (yet: `test` never is). `success` ones are in the lines' shipped quantities.
LIVE = ("pending", "sending", "submitted", "test")
WAIT_FOR_SIBLING = 2.0   # seconds: another shipment of the order has an unknown outcome


def push_shipment(ctx: SyncContext, shipment_id: int) -> str:
    try:
        return _push(ctx, shipment_id)
    except StaleDataError:
        # the order changed under the claim (another shipment or view of it): nothing was
        # claimed nor sent; look again in a moment
        ctx.queue.push_shipment(shipment_id, delay=WAIT_FOR_SIBLING)
        return "busy"


def _push(ctx: SyncContext, shipment_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        shipment = s.get(models.Shipment, shipment_id)
        if shipment is None or shipment.state not in ("pending", "sending"):
            return "nothing to do"
        if shipment.next_attempt_at and shipment.next_attempt_at > now + timedelta(seconds=1):
            return "not yet"
        if not shop_active(s.get(models.Shop, shipment.order.shop_id)):
            return DISCONNECTED   # left pending/sending: a re-install resumes it
        siblings = [sh for sh in order_shipments(s, shipment.order_id) if sh.id != shipment.id]
        if shipment.state == "pending" and any(sh.state == "sending" for sh in siblings):
            # one unknown outcome per order at a time (see the module doc): after it
            ctx.queue.push_shipment(shipment_id, delay=WAIT_FOR_SIBLING)
            return "waiting for another shipment of the order"
        if not ROWS.claim(s, shipment_id, ("pending", "sending"), now, now + lease(ctx.settings)):
            return "busy"
        s.refresh(shipment)
        order = shipment.order
        marketplace = ctx.adapters.marketplace(s.get(models.Connection, order.connection_id))
        may_exist = shipment.state == "sending"
        request = None   # built once its transport is resolved (pending), else from the row
        if shipment.state == "pending":
            shop = s.get(models.Shop, order.shop_id)
            try:
                shipment.transporter_code, shipment.track_and_trace = _transport(shipment, order, shop.settings or {})
            except NoTransporter as exc:
                _give_up(s, shipment, order, str(exc))
                return "error"
            taken = _already_covered(shipment, siblings, order)
            if taken:
                _give_up(s, shipment, order, f"not sent: {taken}")
                return "error"
            request = shipment_request(shipment, order, siblings)
            unsupported = why_not_shippable(marketplace.capabilities, request)
            if unsupported:
                _give_up(s, shipment, order, f"not sent: {unsupported}")
                return "error"
            # compare-and-set on the order row: a racing claim of another shipment of this order
            # (or a view writing one) makes this commit fail with StaleDataError, nothing sent
            order.updated_at = now
            if (shop.settings or {}).get("test_mode"):
                return _test_mode(s, shipment, now)
            shipment.state = "sending"
            shipment.sent_at = now
        claimed = outbox.Claimed(request or shipment_request(shipment, order, siblings), marketplace,
                                 shipment.attempts, may_exist)
    # committed: `sending` is on disk before the request leaves
    return outbox.send(ShipmentWrite(ctx), shipment_id, claimed, clock=ctx.clock,
                       in_flight_seconds=ctx.settings.in_flight_seconds)


def follow_shipment(ctx: SyncContext, shipment_id: int) -> str:
    with ctx.db.session() as s:
        shipment = s.get(models.Shipment, shipment_id)
        if shipment is None or shipment.state != "submitted":
            return "nothing to do"
        if not shop_active(s.get(models.Shop, shipment.order.shop_id)):
            return DISCONNECTED
        following = outbox.Following(
            ctx.adapters.marketplace(s.get(models.Connection, shipment.order.connection_id)), shipment.process_id,
            (ctx.clock() - (shipment.sent_at or shipment.created_at)).total_seconds())
    return outbox.follow(ShipmentWrite(ctx), shipment_id, following)


class ShipmentWrite:
    """A shipment's life on the marketplace, as the outbox runner drives it. Its follow runs as a
    job of its own (follow_shipment) that holds no lease: only `finish` moves a submitted row."""

    max_attempts = MAX_ATTEMPTS
    send_with, look_up_with = "ship", "find_shipment_process"

    def __init__(self, ctx: SyncContext):
        self.ctx = ctx

    def submitted(self, shipment_id: int, claimed: outbox.Claimed, result: ProcessResult, *, found: bool) -> None:
        request = claimed.request
        with self.ctx.db.session() as s:
            if ROWS.submitted(s, shipment_id, result.process_id):
                what = "found the shipment an earlier attempt sent" if found else "shipment sent"
                transport = (f"{request.transporter_code} {request.track_and_trace}" if request.track_and_trace
                             else "without track & trace")
                timeline.record(s, s.get(models.Shipment, shipment_id).order_id, "call",
                                f"{claimed.marketplace.name}: {what} ({transport}), process {result.process_id}")

    def finish(self, shipment_id: int, result: ProcessResult) -> str:
        return _finish(self.ctx, shipment_id, result)

    def retry_later(self, shipment_id: int, error: AdapterError, at, delay: float, *, not_sent: bool) -> None:
        with self.ctx.db.session() as s:
            shipment = s.get(models.Shipment, shipment_id)
            ROWS.back_off(shipment, str(error), at, not_sent=not_sent)
            timeline.record(s, shipment.order_id, "call",
                            f"marketplace: shipment not confirmed, retrying in {delay:.1f} s: {error}",
                            outcome="retry")

    def give_up(self, shipment_id: int, error: AdapterError, *, not_sent: bool) -> str:
        with self.ctx.db.session() as s:
            shipment = s.get(models.Shipment, shipment_id)
            if not_sent:
                ROWS.not_sent(shipment)
            _give_up(s, shipment, shipment.order, f"shipment could not be sent: {error}")
        return "error"

    def release(self, shipment_id: int, error: str | None = None) -> None:
        if error is not None:   # a follow holds no lease: only the error is worth keeping
            with self.ctx.db.session() as s:
                ROWS.release(s, shipment_id, last_error=error)

    def retry_job(self, shipment_id: int, delay: float) -> None:
        self.ctx.queue.push_shipment(shipment_id, delay=delay)

    def follow_job(self, shipment_id: int, delay: float) -> None:
        self.ctx.queue.follow_shipment(shipment_id, delay=delay)


def _finish(ctx: SyncContext, shipment_id: int, result: ProcessResult) -> str:
    now = ctx.clock()
    ok = result.status == "SUCCESS"
    with ctx.db.session() as s:
        moved = ROWS.move(
            s, shipment_id, ("submitted", "sending"), "success" if ok else "failed", done_at=now, lease_until=None,
            process_id=result.process_id, last_error=None if ok else (result.error or result.status),
            # FAILURE: the marketplace refused it, nothing is shipped (see the module doc).
            # TIMEOUT keeps sent_at: whether it shipped is unknown, a resend looks it up.
            **({"sent_at": None} if result.status == "FAILURE" else {}))
        if not moved:
            return "already finished"
        shipment = s.get(models.Shipment, shipment_id)
        if ok:
            timeline.record(s, shipment.order_id, "call", f"marketplace confirmed the shipment (process "
                                                          f"{result.process_id}: SUCCESS)")
            _lines_shipped(s, shipment)
            return "success"
        _mark_order_error(s, shipment.order, f"marketplace refused the shipment ({result.status}): "
                                             f"{result.error or 'no reason given'}")
        return "failed"


def _lines_shipped(s: Session, shipment: models.Shipment) -> None:
    """The lines' own state: the shipment's quantities are shipped, in the same transaction as
    its move to success (which happens once: compare-and-set). Never beyond what is open."""
    line = models.OrderLine
    room = line.quantity - line.cancelled_quantity
    if not shipment.quantities:   # written before partial shipments: the whole open lines
        s.execute(update(line)
                  .where(line.order_id == shipment.order_id,
                         line.external_line_id.in_(shipment_lines(shipment, shipment.order)))
                  .values(shipped_quantity=room)
                  .execution_options(synchronize_session=False))
        return
    for line_id, quantity in shipment.quantities.items():
        more = line.shipped_quantity + int(quantity)
        s.execute(update(line)
                  .where(line.order_id == shipment.order_id, line.external_line_id == line_id)
                  .values(shipped_quantity=case((more > room, room), else_=more))
                  .execution_options(synchronize_session=False))


def order_shipments(s: Session, order_id: int) -> list[models.Shipment]:
    return list(s.scalars(select(models.Shipment).where(models.Shipment.order_id == order_id)
                          .order_by(models.Shipment.id)))


def shipment_to_resend(s: Session, order_id: int, now) -> models.Shipment | None:
    """The shipment of an order a Resend is about: a failed one first, else one waiting on a
    backoff, else the first (an order may have several: partial shipments)."""
    shipments = order_shipments(s, order_id)
    return (next((sh for sh in shipments if sh.state == "failed"), None)
            or next((sh for sh in shipments if sh.state in ("pending", "sending")
                     and sh.next_attempt_at is not None and sh.next_attempt_at > now), None)
            or (shipments[0] if shipments else None))


def shipment_items(shipment: models.Shipment, order: models.Order) -> tuple[tuple[str, int], ...]:
    """(line id, quantity) the shipment ships. Rows written before partial shipments ship each
    line's whole open quantity."""
    if shipment.quantities:
        ids = shipment.line_ids or list(shipment.quantities)
        return tuple((line_id, int(shipment.quantities[line_id])) for line_id in ids if line_id in shipment.quantities)
    by_id = {line.external_line_id: line for line in order.lines}
    return tuple((line_id, open_quantity(by_id[line_id])) for line_id in shipment_lines(shipment, order) if line_id in by_id)


def with_shipments(domain: Order, shipments: list[models.Shipment], order: models.Order) -> Order:
    """The order's shipments on its domain object: every key is taken, and the quantities of
    live shipments are `shipping` (covered, not yet confirmed)."""
    for shipment in shipments:
        domain.shipment_keys.add(shipment.key)
        if shipment.state in LIVE:
            for line_id, quantity in shipment_items(shipment, order):
                line = domain.line(line_id)
                if line is not None:
                    line.shipping += quantity
    return domain


def _already_covered(shipment: models.Shipment, siblings: list[models.Shipment], order: models.Order) -> str:
    """Why sending this shipment would ship something twice ("" when it would not): a line
    quantity that is shipped, or in another live shipment, or cancelled. The last line of
    defence against a double shipment (a resend of a shipment whose lines went meanwhile)."""
    if not shipment.quantities:
        return ""   # a whole-order shipment of old: its lines are whatever is open when sent
    covered: dict[str, int] = {}
    for sibling in siblings:
        if sibling.state in LIVE:
            for line_id, quantity in shipment_items(sibling, order):
                covered[line_id] = covered.get(line_id, 0) + quantity
    by_id = {line.external_line_id: line for line in order.lines}
    for line_id, quantity in shipment_items(shipment, order):
        line = by_id.get(line_id)
        if line is None or quantity > open_quantity(line) - covered.get(line_id, 0):
            return f"line {line_id} is already shipped, cancelled or in another shipment"
    return ""


def open_quantity(line: models.OrderLine) -> int:
    """What is left of an order line to ship or cancel."""
    return max(0, line.quantity - (line.shipped_quantity or 0) - (line.cancelled_quantity or 0))


def shipment_request(shipment: models.Shipment, order: models.Order,
                     siblings: list[models.Shipment]) -> ShipmentRequest:
    """The marketplace request of a shipment. A quantity is named only for a part of a line:
    omitted, the marketplace ships the line's whole open quantity, which is never more."""
    by_id = {line.external_line_id: line for line in order.lines}
    quantities = tuple((line_id, quantity) for line_id, quantity in shipment_items(shipment, order)
                       if shipment.quantities and line_id in by_id and quantity < open_quantity(by_id[line_id]))
    return ShipmentRequest(
        external_order_id=order.external_id,
        line_ids=shipment_lines(shipment, order),
        reference=shipment.reference,
        transporter_code=shipment.transporter_code,
        track_and_trace=shipment.track_and_trace,
        quantities=quantities,
        other_processes=tuple(sh.process_id for sh in siblings if sh.process_id),
    )


def shipment_lines(shipment: models.Shipment, order: models.Order) -> tuple[str, ...]:
    """The lines a shipment covers: those recorded when it was written, else (older rows) every
    line with something left to ship."""
    if shipment.line_ids:
        return tuple(shipment.line_ids)
    return tuple(line.external_line_id for line in order.lines if open_quantity(line) > 0)


def _test_mode(s, shipment: models.Shipment, now) -> str:
    """The shop is in test mode: everything runs except telling the marketplace. The shipment
    ends in `test`, final, with the transport it would have carried, so the merchant can check
    the transporter rules on real orders without shipping anything on the marketplace."""
    shipment.state = "test"
    shipment.lease_until = None
    shipment.done_at = now
    transport = (f"{shipment.transporter_code} {shipment.track_and_trace}" if shipment.track_and_trace
                 else "without track & trace")
    timeline.record(s, shipment.order_id, "call", f"test mode: shipment NOT sent to the marketplace "
                                                  f"(it would have been sent {transport})")
    return "test mode"


def _transport(shipment: models.Shipment, order: models.Order, settings: dict) -> tuple[str | None, str | None]:
    """A line-bound shipment carries its own tracking entry's T&T; the rest, the order's."""
    if shipment.tracking_number:
        number, provider = shipment.tracking_number, shipment.tracking_provider
    elif shipment.key == REST:
        number, provider = order.tracking_number, order.tracking_provider
    else:
        number = provider = None
    if not number:
        return None, None   # shipped without T&T: the shipment goes without transport
    rules = TransporterRules.from_dict(settings.get("transporters"))
    return rules.resolve(number, provider)


def _give_up(s, shipment: models.Shipment, order: models.Order, reason: str) -> None:
    shipment.state = "failed"
    shipment.lease_until = None
    shipment.last_error = reason[:2000]
    _mark_order_error(s, order, reason)


def _mark_order_error(s, order: models.Order, reason: str) -> None:
    domain = to_domain(order)
    domain.fail(reason)
    write_back(order, domain)
    timeline.record(s, order.id, "state", f"error: {reason}", outcome="error")
