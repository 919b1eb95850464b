"""Use case: data retention. A shop disconnected more than Settings.retention_days ago is deleted
with everything it owns (connections, orders, lines, bindings, shipments, timeline, webhook
deliveries, grants, billing usage: the foreign keys cascade), and its poll cursors with it.

Run from the dispatcher (every minute) but at most once an hour: the claim is a compare-and-set
on a poll cursor of its own, so with many dispatchers exactly one purges. `orderbridge sync once`
(cron) runs it too, since it runs the dispatcher."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from plugin.store import models
from plugin.store.cursors import cursor_for
from plugin.sync.context import SyncContext

log = logging.getLogger(__name__)

PURGE_STREAM = "maintenance:purge"
PURGE_EVERY = timedelta(hours=1)


def purge_if_due(ctx: SyncContext) -> int:
    now = ctx.clock()
    with ctx.db.session() as s:
        cursor_for(s, PURGE_STREAM)
        claimed = s.execute(
            update(models.PollCursor)
            .where(models.PollCursor.stream == PURGE_STREAM,
                   or_(models.PollCursor.last_success_at.is_(None), models.PollCursor.last_success_at <= now - PURGE_EVERY))
            .values(last_success_at=now)
            .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return 0
    purge_spent_grants(ctx)
    purge_stock_history(ctx)
    return purge_disconnected_shops(ctx)


# Stock updates are many (a product changing 100 times an hour is 100 rows): the finished ones
# are history, kept this long. An offer's last value sent and when stay on its link.
STOCK_HISTORY = timedelta(days=7)


def purge_stock_history(ctx: SyncContext) -> int:
    with ctx.db.session() as s:
        return s.execute(delete(models.StockUpdate)
                         .where(models.StockUpdate.state.in_(("sent", "superseded", "skipped")),
                                models.StockUpdate.updated_at < ctx.clock() - STOCK_HISTORY)
                         .execution_options(synchronize_session=False)).rowcount


# An install or sign-in grant is worth keeping a day after it expired (to tell a late click
# "expired" rather than "unknown"); after that it is only rows.
GRANT_KEEP = timedelta(days=1)


def purge_spent_grants(ctx: SyncContext) -> int:
    with ctx.db.session() as s:
        return s.execute(delete(models.AuthGrant).where(models.AuthGrant.expires_at < ctx.clock() - GRANT_KEEP)
                         .execution_options(synchronize_session=False)).rowcount


def purge_disconnected_shops(ctx: SyncContext) -> int:
    """Delete shops disconnected before now - retention_days. Returns how many. A shop that was
    re-installed meanwhile is active again and never matches."""
    cutoff = ctx.clock() - timedelta(days=ctx.settings.retention_days)
    expired = (models.Shop.status == "disconnected", models.Shop.disconnected_at.is_not(None),
               models.Shop.disconnected_at < cutoff)
    purged = 0
    with ctx.db.session() as s:
        shop_ids = list(s.scalars(select(models.Shop.id).where(*expired)))
    for shop_id in shop_ids:   # one transaction a shop: a big tenant never blocks the others for long
        with ctx.db.session() as s:
            conn_ids = list(s.scalars(select(models.Connection.id).where(models.Connection.shop_id == shop_id)))
            # the status check again, in the deleting statement: a re-install in between wins
            gone = s.execute(delete(models.Shop).where(models.Shop.id == shop_id, *expired)
                             .execution_options(synchronize_session=False)).rowcount
            if not gone:
                continue
            streams = [f"shop:{shop_id}:orders"] + [f"connection:{c}:{what}" for c in conn_ids
                                                     for what in ("orders", "stock", "returns")]
            s.execute(delete(models.PollCursor).where(models.PollCursor.stream.in_(streams))
                      .execution_options(synchronize_session=False))
        purged += 1
        log.info("shop %s purged: disconnected more than %d days ago", shop_id, ctx.settings.retention_days)
    return purged
