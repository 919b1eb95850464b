"""Use case: the heartbeat (every minute in production). Enqueues the connections and shops
whose own next-poll time comes before the next heartbeat (each is spread over its interval, so
10,000 connections do not all poll at :00), each enqueued to start at its own due time, and
re-enqueues any work the database says is still open: a lost job is never lost work, because the
rows themselves are the queue of record."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from plugin.store import models
from plugin.store.cursors import cursor_for
from plugin.store.orders import OPEN_CANCELLATION
from plugin.sync.context import SyncContext
from plugin.sync.purge import purge_if_due
from plugin.sync.shop_settings import with_defaults

log = logging.getLogger(__name__)


@dataclass
class Dispatched:
    connections: int = 0
    shops: int = 0
    creations: int = 0
    shipments: int = 0
    follows: int = 0
    deliveries: int = 0
    purged: int = 0
    stock_reconciles: int = 0
    stock_pushes: int = 0
    cancellations: int = 0
    returns_polls: int = 0
    returns: int = 0
    skipped_sweeps: int = 0      # the queue's length when the lost-job sweeps held back


# More jobs than this waiting: the open rows' jobs are in the queue, not lost (see dispatch).
SWEEP_BACKLOG = 2000


def first_poll_at(ctx: SyncContext, interval: int):
    """A new connection or shop starts at a random point of its interval: polls spread out."""
    return ctx.clock() + timedelta(seconds=random.uniform(0, interval))


# The heartbeat runs once a minute (jobs.heartbeat). A poll due a moment after one tick used to
# wait for the next tick: a minute late (half the 1-minute polls, with the ticks' jitter). So each
# tick claims every poll due before the next tick (plus a margin for that tick's jitter and a
# loaded machine) and enqueues it to start at its due time.
HEARTBEAT_SECONDS = 60
LOOKAHEAD_MARGIN = 10
# A poll later than this was missed (the system was down, a heartbeat skipped), not just caught
# by a tick a moment late: it runs now, once, and its schedule starts again from now, instead of
# a burst of catch-up polls.
MISSED_AFTER = HEARTBEAT_SECONDS
# Enough for a 10 s interval over one tick; a bound so a bad row can never loop.
MAX_CLAIMS_PER_TICK = 16


def _horizon(now, tick_seconds: float):
    return now + timedelta(seconds=tick_seconds + LOOKAHEAD_MARGIN)


def _due(model, horizon):
    return or_(model.next_poll_at.is_(None), model.next_poll_at <= horizon)


def next_after(due, now, interval: int):
    """The next due time after a poll due at `due` (None: never polled, or due at once): one
    interval after its due time, not after the tick that claimed it, so intervals do not drift;
    a poll that was missed for long starts afresh from now."""
    if due is None or (now - due).total_seconds() > MISSED_AFTER or due + timedelta(seconds=interval) <= now:
        return now + timedelta(seconds=interval)
    return due + timedelta(seconds=interval)


def _start_delay(ctx: SyncContext, due) -> float:
    """Seconds from now until a claimed poll's due time (0: it is due already)."""
    return 0.0 if due is None else max(0.0, (due - ctx.clock()).total_seconds())


def _claims(s, model, column, row_id: int, due, now, horizon, interval: int) -> list:
    """Compare-and-set the row's next time from the value read (`due`) to the one after it, as
    often as it falls before the next tick: two dispatchers never enqueue the same poll twice
    (the loser's update matches no row). The due times claimed, in order; the poll for each is
    enqueued to start at that time (None: at once)."""
    claimed = []
    while len(claimed) < MAX_CLAIMS_PER_TICK and (due is None or due <= horizon):
        after = next_after(due, now, interval)
        current = column.is_(None) if due is None else column == due
        if s.execute(update(model).where(model.id == row_id, current).values({column.key: after})
                     .execution_options(synchronize_session=False)).rowcount != 1:
            break
        claimed.append(due)
        due = after
    return claimed


def dispatch(ctx: SyncContext, *, stale_after: float | None = None, tick_seconds: float | None = None) -> Dispatched:
    """One heartbeat. `tick_seconds`: how long until the next one (HEARTBEAT_SECONDS unless the
    caller ticks more often): the polls due before it are claimed now."""
    now = ctx.clock()
    horizon = _horizon(now, HEARTBEAT_SECONDS if tick_seconds is None else tick_seconds)
    out = Dispatched()
    stale = now - timedelta(seconds=ctx.settings.outbox_retry_seconds if stale_after is None else stale_after)
    active = models.Shop.status == "active"   # a disconnected shop's work waits for its re-install
    with ctx.db.session() as s:
        c = models.Connection
        for conn_id, interval, due in s.execute(
                select(c.id, c.poll_seconds, c.next_poll_at)
                .join(models.Shop, models.Shop.id == c.shop_id)
                .where(c.enabled.is_(True), active, _due(c, horizon))):
            for at in _claims(s, c, c.next_poll_at, conn_id, due, now, horizon, interval):
                ctx.queue.poll_connection(conn_id, delay=_start_delay(ctx, at))
                out.connections += 1
        for shop_id, settings, due in s.execute(
                select(models.Shop.id, models.Shop.settings, models.Shop.next_poll_at)
                .where(models.Shop.status == "active", _due(models.Shop, horizon))):
            interval = int((settings or {}).get("shop_poll_seconds", ctx.settings.shop_poll_seconds))
            for at in _claims(s, models.Shop, models.Shop.next_poll_at, shop_id, due, now, horizon, interval):
                ctx.queue.poll_shop(shop_id, delay=_start_delay(ctx, at))
                out.shops += 1
        _periodic_claims(ctx, s, now, horizon, out)
        backlog = ctx.queue.backlog() or 0
        if backlog > SWEEP_BACKLOG:
            # The open rows' jobs are most likely still in the queue, not lost: sweeping now would
            # queue every one of them again at each heartbeat (tens of thousands under an import
            # burst, all to find nothing to do). The sweeps resume once the queue has drained.
            log.info("heartbeat: %d jobs waiting, lost-job sweeps skipped", backlog)
            out.skipped_sweeps = backlog
        else:
            _sweep_lost_jobs(ctx, s, now, stale, active, out)
    ctx.queue.grace_sweep()
    out.purged = purge_if_due(ctx)
    return out


def _sweep_lost_jobs(ctx: SyncContext, s, now, stale, active, out: Dispatched) -> None:
    """Work the rows say is still open, whose job is older than `stale`: queued again."""
    def free(model):      # no worker holds it
        return or_(model.lease_until.is_(None), model.lease_until < now)

    def due(model):       # its backoff, if any, is over
        return or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)

    for order_id in s.scalars(
            select(models.Binding.order_id)
            .join(models.Shop, models.Shop.id == models.Binding.shop_id)
            .where(models.Binding.state.in_(("new", "creating")), free(models.Binding), due(models.Binding),
                   models.Binding.updated_at <= stale, active)):
        ctx.queue.create_in_shop(order_id)
        out.creations += 1
    for shipment_id in s.scalars(
            select(models.Shipment.id)
            .join(models.Order, models.Order.id == models.Shipment.order_id)
            .join(models.Shop, models.Shop.id == models.Order.shop_id)
            .where(models.Shipment.state.in_(("pending", "sending")), free(models.Shipment),
                   due(models.Shipment), models.Shipment.updated_at <= stale, active)):
        ctx.queue.push_shipment(shipment_id)
        out.shipments += 1
    for shipment_id in s.scalars(
            select(models.Shipment.id)
            .join(models.Order, models.Order.id == models.Shipment.order_id)
            .join(models.Shop, models.Shop.id == models.Order.shop_id)
            .where(models.Shipment.state == "submitted", models.Shipment.updated_at <= stale, active)):
        ctx.queue.follow_shipment(shipment_id)
        out.follows += 1
    for delivery_id in s.scalars(
            select(models.WebhookDelivery.id)
            .join(models.Shop, models.Shop.id == models.WebhookDelivery.shop_id)
            .where(models.WebhookDelivery.processed_at.is_(None), models.WebhookDelivery.received_at <= stale,
                   active)):
        ctx.queue.process_delivery(delivery_id)
        out.deliveries += 1
    _sweep_stock_cancellations_returns(ctx, s, now, stale, free, due, out)


def _periodic_claims(ctx: SyncContext, s, now, horizon, out: Dispatched) -> None:
    """Stock reconciles and returns polls due before the next tick, each claimed by
    compare-and-set and enqueued to start at its due time."""
    c = models.Connection
    active = models.Shop.status == "active"
    for conn_id, marketplace, settings, reconcile_at, returns_at in s.execute(
            select(c.id, c.marketplace, models.Shop.settings, c.stock_reconcile_at, c.returns_poll_at)
            .join(models.Shop, models.Shop.id == c.shop_id)
            .where(c.enabled.is_(True), active,
                   or_(c.stock_reconcile_at.is_(None), c.stock_reconcile_at <= horizon,
                       c.returns_poll_at.is_(None), c.returns_poll_at <= horizon))):
        settings = with_defaults(settings)
        for at in _claims(s, c, c.stock_reconcile_at, conn_id, reconcile_at, now, horizon,
                          int(settings.get("stock_reconcile_seconds", 300))):
            if settings.get("stock_sync"):   # off: only its next look is moved on
                ctx.queue.reconcile_stock(conn_id, delay=_start_delay(ctx, at))
                out.stock_reconciles += 1
        for at in _claims(s, c, c.returns_poll_at, conn_id, returns_at, now, horizon,
                          int(settings.get("returns_poll_seconds", 3600))):
            if ctx.adapters.capabilities(marketplace).returns:   # none: only its next look moves on
                ctx.queue.poll_returns(conn_id, delay=_start_delay(ctx, at))
                out.returns_polls += 1


def _sweep_stock_cancellations_returns(ctx: SyncContext, s, now, stale, free, due, out: Dispatched) -> None:
    """Stock, cancellation and return work the rows say is still open (a lost job is never lost
    work)."""
    c = models.Connection
    active = models.Shop.status == "active"
    su = models.StockUpdate
    for (conn_id,) in s.execute(
            select(su.connection_id).distinct()
            .join(c, c.id == su.connection_id)
            .join(models.Shop, models.Shop.id == c.shop_id)
            .where(su.state.in_(("pending", "sending")), su.updated_at <= stale, active, c.enabled.is_(True), due(su),
                   or_(c.stock_lease_until.is_(None), c.stock_lease_until < now),
                   or_(c.stock_paused_until.is_(None), c.stock_paused_until <= now))):
        ctx.queue.push_stock(conn_id)
        out.stock_pushes += 1
    ca = models.Cancellation
    for cancellation_id in s.scalars(
            select(ca.id)
            .join(models.Order, models.Order.id == ca.order_id)
            .join(models.Shop, models.Shop.id == models.Order.shop_id)
            .where(ca.state.in_(OPEN_CANCELLATION), ca.updated_at <= stale, active, free(ca), due(ca))):
        ctx.queue.push_cancellation(cancellation_id)
        out.cancellations += 1
    r = models.Return
    for return_id in s.scalars(
            select(r.id)
            .join(models.Shop, models.Shop.id == r.shop_id)
            .where(or_(r.shop_state.in_(("pending", "sending")), r.handle_state.in_(("pending", "sending", "submitted"))),
                   r.updated_at <= stale, active, free(r), due(r))):
        ctx.queue.push_return(return_id)
        out.returns += 1


# ---------------------------------------------------------------- periodic jobs that failed
PERIODIC = {"stock": ("stock_reconcile_at", "stock_reconcile_seconds", 300, "stock reconcile"),
            "returns": ("returns_poll_at", "returns_poll_seconds", 3600, "returns poll")}


def _failing_stream(connection_id: int, kind: str) -> str:
    return f"connection:{connection_id}:{kind}:failing"


def periodic_failed(ctx: SyncContext, connection_id: int, kind: str, exc) -> float | None:
    """A stock reconcile or returns poll failed. The dispatcher claimed its next time a whole
    interval ahead (5 min / 1 h): after a retryable failure (5xx, timeout, 429) bring that time
    forward to a jittered backoff (Retry-After for a 429), so the next try comes soon, still from
    the heartbeat and still claimed by compare-and-set (one run per connection at a time). A
    permanent failure (credentials, refused) keeps the full interval and is shown on the
    connection. Returns the delay chosen, None when not retried sooner."""
    from plugin.sync.retry import periodic_retry_delay
    column_name, setting, default, what = PERIODIC[kind]
    column = getattr(models.Connection, column_name)
    now = ctx.clock()
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None:
            return None
        interval = int(with_defaults(s.get(models.Shop, conn.shop_id).settings).get(setting, default))
        failing = cursor_for(s, _failing_stream(connection_id, kind))
        failing.cursor_at = failing.cursor_at or now       # failing since
        failing.last_error = f"{exc}"[:2000]
        if not getattr(exc, "retryable", False):
            conn.last_error = f"{what} failed: {exc}"[:2000]
            return None
        delay = periodic_retry_delay((now - failing.cursor_at).total_seconds(), exc, interval=interval)
        at = now + timedelta(seconds=delay)
        # only ever sooner: never pushes back a time another run already set
        s.execute(update(models.Connection)
                  .where(models.Connection.id == connection_id, or_(column.is_(None), column > at))
                  .values({column_name: at}).execution_options(synchronize_session=False))
        return delay


def periodic_succeeded(ctx: SyncContext, connection_id: int, kind: str) -> None:
    """The job worked: the backoff starts from scratch next time; our own error leaves the connection."""
    what = PERIODIC[kind][3]
    with ctx.db.session() as s:
        failing = s.scalar(select(models.PollCursor).where(models.PollCursor.stream == _failing_stream(connection_id, kind)))
        if failing is not None and failing.cursor_at is not None:
            failing.cursor_at = None
            failing.last_error = None
        conn = s.get(models.Connection, connection_id)
        if conn is not None and (conn.last_error or "").startswith(f"{what} failed:"):
            conn.last_error = None
