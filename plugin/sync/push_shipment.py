"""Use case: make a shipment true on the marketplace, exactly once, and follow it to the end.

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

from sqlalchemy import or_, update

from adapters.errors import AdapterError, AuthError, NotFound, RateLimited, Rejected
from plugin.domain import NoTransporter, TransporterRules
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import DISCONNECTED, shop_active
from plugin.sync.ports import ProcessResult, ShipmentRequest
from plugin.sync.process_follow import FIRST_FOLLOW, follow_delay, read_process
from plugin.sync.retry import retry_delay, should_retry

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
REFUSALS = (RateLimited, Rejected, AuthError, NotFound)


def push_shipment(ctx: SyncContext, shipment_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        shipment = s.get(models.Shipment, shipment_id)
        if shipment is None or shipment.state not in ("pending", "sending"):
            return "nothing to do"
        if shipment.next_attempt_at and shipment.next_attempt_at > now + timedelta(seconds=1):
            return "not yet"
        if not shop_active(s.get(models.Shop, shipment.order.shop_id)):
            return DISCONNECTED   # left pending/sending: a re-install resumes it
        claimed = s.execute(
            update(models.Shipment)
            .where(models.Shipment.id == shipment_id, models.Shipment.state.in_(("pending", "sending")),
                   or_(models.Shipment.lease_until.is_(None), models.Shipment.lease_until < now))
            .values(lease_until=now + lease(ctx.settings), attempts=models.Shipment.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return "busy"
        s.refresh(shipment)
        order = shipment.order
        may_exist = shipment.state == "sending"
        if shipment.state == "pending":
            shop = s.get(models.Shop, order.shop_id)
            try:
                shipment.transporter_code, shipment.track_and_trace = _transport(order, shop.settings or {})
            except NoTransporter as exc:
                _give_up(s, shipment, order, str(exc))
                return "error"
            if (shop.settings or {}).get("test_mode"):
                return _test_mode(s, shipment, now)
            shipment.state = "sending"
            shipment.sent_at = now
        request = ShipmentRequest(
            external_order_id=order.external_id,
            line_ids=shipment_lines(shipment, order),
            reference=shipment.reference,
            transporter_code=shipment.transporter_code,
            track_and_trace=shipment.track_and_trace,
        )
        attempts = shipment.attempts
        marketplace = ctx.adapters.marketplace(s.get(models.Connection, order.connection_id))
    # committed: `sending` is on disk before the request leaves
    try:
        result = marketplace.find_shipment_process(request) if may_exist else None
        found = result is not None
    except AdapterError as exc:
        return _failed(ctx, shipment_id, exc, attempts)
    if result is None:
        try:
            result = marketplace.ship(request)
        except AdapterError as exc:
            # a refusal (429, 401/403, 404, 400/409/422, or our own mapping refusing the request
            # before it left) is a definite "not processed": the next attempt need not look it
            # up. A plain AdapterError (say a 2xx with an odd body) is not: it may have shipped.
            return _failed(ctx, shipment_id, exc, attempts, not_sent=isinstance(exc, REFUSALS))
    with ctx.db.session() as s:
        moved = s.execute(
            update(models.Shipment)
            .where(models.Shipment.id == shipment_id, models.Shipment.state == "sending")
            .values(state="submitted", process_id=result.process_id, lease_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved:
            shipment = s.get(models.Shipment, shipment_id)
            what = "found the shipment an earlier attempt sent" if found else "shipment sent"
            transport = (f"{request.transporter_code} {request.track_and_trace}" if request.track_and_trace
                         else "without track & trace")
            timeline.record(s, shipment.order_id, "call",
                            f"{marketplace.name}: {what} ({transport}), process {result.process_id}")
    if result.done:
        return _finish(ctx, shipment_id, result)
    ctx.queue.follow_shipment(shipment_id, delay=FIRST_FOLLOW)
    return "submitted"


def follow_shipment(ctx: SyncContext, shipment_id: int) -> str:
    with ctx.db.session() as s:
        shipment = s.get(models.Shipment, shipment_id)
        if shipment is None or shipment.state != "submitted":
            return "nothing to do"
        if not shop_active(s.get(models.Shop, shipment.order.shop_id)):
            return DISCONNECTED
        order = shipment.order
        marketplace = ctx.adapters.marketplace(s.get(models.Connection, order.connection_id))
        process_id = shipment.process_id
        elapsed = (ctx.clock() - (shipment.sent_at or shipment.created_at)).total_seconds()
    result = read_process(marketplace, process_id)
    if not result.done:
        delay = follow_delay(elapsed)
        ctx.queue.follow_shipment(shipment_id, delay=delay)
        return "pending"
    return _finish(ctx, shipment_id, result)


def _finish(ctx: SyncContext, shipment_id: int, result: ProcessResult) -> str:
    now = ctx.clock()
    ok = result.status == "SUCCESS"
    with ctx.db.session() as s:
        moved = s.execute(
            update(models.Shipment)
            .where(models.Shipment.id == shipment_id, models.Shipment.state.in_(("submitted", "sending")))
            .values(state="success" if ok else "failed", done_at=now, lease_until=None,
                    process_id=result.process_id, last_error=None if ok else (result.error or result.status),
                    # FAILURE: the marketplace refused it, nothing is shipped (see the module doc).
                    # TIMEOUT keeps sent_at: whether it shipped is unknown, a resend looks it up.
                    **({"sent_at": None} if result.status == "FAILURE" else {}))
            .execution_options(synchronize_session=False)
        ).rowcount
        if not moved:
            return "already finished"
        shipment = s.get(models.Shipment, shipment_id)
        if ok:
            timeline.record(s, shipment.order_id, "call", f"marketplace confirmed the shipment (process "
                                                          f"{result.process_id}: SUCCESS)")
            # the lines' own state: their open quantity is shipped (monotonic, so a repeat is harmless)
            s.execute(update(models.OrderLine)
                      .where(models.OrderLine.order_id == shipment.order_id,
                             models.OrderLine.external_line_id.in_(shipment_lines(shipment, shipment.order)))
                      .values(shipped_quantity=models.OrderLine.quantity - models.OrderLine.cancelled_quantity)
                      .execution_options(synchronize_session=False))
            return "success"
        _mark_order_error(s, shipment.order, f"marketplace refused the shipment ({result.status}): "
                                             f"{result.error or 'no reason given'}")
        return "failed"


def shipment_lines(shipment: models.Shipment, order: models.Order) -> tuple[str, ...]:
    """The lines a shipment covers: those recorded when it was written, else (older rows) every
    line with something left to ship."""
    if shipment.line_ids:
        return tuple(shipment.line_ids)
    return tuple(line.external_line_id for line in order.lines
                 if line.quantity - (line.shipped_quantity or 0) - (line.cancelled_quantity or 0) > 0)


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


def _transport(order: models.Order, settings: dict) -> tuple[str | None, str | None]:
    if not order.tracking_number:
        return None, None   # shipped without T&T: the shipment goes without transport
    rules = TransporterRules.from_dict(settings.get("transporters"))
    return rules.resolve(order.tracking_number, order.tracking_provider)


def _failed(ctx: SyncContext, shipment_id: int, exc: AdapterError, attempts: int, *,
            not_sent: bool = False) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        shipment = s.get(models.Shipment, shipment_id)
        if not_sent and shipment.state == "sending" and not shipment.process_id:
            # the lookup before this send found nothing and the send was refused: nothing exists
            shipment.state = "pending"
            shipment.sent_at = None
        if should_retry(exc, attempts, MAX_ATTEMPTS):
            delay = retry_delay(attempts, exc, in_flight_seconds=ctx.settings.in_flight_seconds)
            shipment.lease_until = None
            shipment.next_attempt_at = now + timedelta(seconds=delay)
            shipment.last_error = str(exc)[:2000]
            timeline.record(s, shipment.order_id, "call",
                            f"marketplace: shipment not confirmed, retrying in {delay:.1f} s: {exc}", outcome="retry")
            ctx.queue.push_shipment(shipment_id, delay=delay)
            return "retry"
        _give_up(s, shipment, shipment.order, f"shipment could not be sent: {exc}")
        return "error"


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
