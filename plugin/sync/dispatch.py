"""Use case: the heartbeat (every minute in production). Enqueues the connections and shops
whose own next-poll time has come (each is spread over its interval, so 10,000 connections do
not all poll at :00), and re-enqueues any work the database says is still open: a lost job is
never lost work, because the rows themselves are the queue of record."""

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


def _due(model, now):
    return or_(model.next_poll_at.is_(None), model.next_poll_at <= now)


def _claim_poll(s, model, row_id: int, now, interval: int) -> bool:
    """Compare-and-set the next poll time: two dispatchers never enqueue the same poll twice."""
    return s.execute(update(model).where(model.id == row_id, _due(model, now))
                     .values(next_poll_at=now + timedelta(seconds=interval))
                     .execution_options(synchronize_session=False)).rowcount == 1


def dispatch(ctx: SyncContext, *, stale_after: float | None = None) -> Dispatched:
    now = ctx.clock()
    out = Dispatched()
    stale = now - timedelta(seconds=ctx.settings.outbox_retry_seconds if stale_after is None else stale_after)
    active = models.Shop.status == "active"   # a disconnected shop's work waits for its re-install
    with ctx.db.session() as s:
        for conn_id, interval in s.execute(
                select(models.Connection.id, models.Connection.poll_seconds)
                .join(models.Shop, models.Shop.id == models.Connection.shop_id)
                .where(models.Connection.enabled.is_(True), active, _due(models.Connection, now))):
            if _claim_poll(s, models.Connection, conn_id, now, interval):
                ctx.queue.poll_connection(conn_id)
                out.connections += 1
        for shop_id, settings in s.execute(
                select(models.Shop.id, models.Shop.settings)
                .where(models.Shop.status == "active", _due(models.Shop, now))):
            interval = int((settings or {}).get("shop_poll_seconds", ctx.settings.shop_poll_seconds))
            if _claim_poll(s, models.Shop, shop_id, now, interval):
                ctx.queue.poll_shop(shop_id)
                out.shops += 1
        _periodic_claims(ctx, s, now, out)
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


def _claim_at(s, column, row_id: int, now, interval: int) -> bool:
    """Compare-and-set a connection's own next time for a periodic job (reconcile, returns poll)."""
    return s.execute(update(models.Connection)
                     .where(models.Connection.id == row_id, or_(column.is_(None), column <= now))
                     .values({column.key: now + timedelta(seconds=interval)})
                     .execution_options(synchronize_session=False)).rowcount == 1


def _periodic_claims(ctx: SyncContext, s, now, out: Dispatched) -> None:
    """Stock reconciles and returns polls that are due, each claimed by compare-and-set."""
    c = models.Connection
    active = models.Shop.status == "active"
    for conn_id, settings, reconcile_at, returns_at in s.execute(
            select(c.id, models.Shop.settings, c.stock_reconcile_at, c.returns_poll_at)
            .join(models.Shop, models.Shop.id == c.shop_id)
            .where(c.enabled.is_(True), active,
                   or_(c.stock_reconcile_at.is_(None), c.stock_reconcile_at <= now,
                       c.returns_poll_at.is_(None), c.returns_poll_at <= now))):
        settings = with_defaults(settings)
        if (reconcile_at is None or reconcile_at <= now) and _claim_at(
                s, c.stock_reconcile_at, conn_id, now, int(settings.get("stock_reconcile_seconds", 300))):
            if settings.get("stock_sync"):   # off: only its next look is moved on
                ctx.queue.reconcile_stock(conn_id)
                out.stock_reconciles += 1
        if (returns_at is None or returns_at <= now) and _claim_at(
                s, c.returns_poll_at, conn_id, now, int(settings.get("returns_poll_seconds", 3600))):
            ctx.queue.poll_returns(conn_id)
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
