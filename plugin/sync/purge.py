"""Use case: data retention. A shop disconnected more than Settings.retention_days ago is deleted
with everything it owns (connections, orders, lines, bindings, shipments, timeline, webhook
deliveries, grants, billing usage: the foreign keys cascade), and its poll cursors with it.

Run from the dispatcher (every minute) but at most once an hour: the claim is a compare-and-set
on a poll cursor of its own, so with many dispatchers exactly one purges. `orderbridge sync once`
(cron) runs it too, since it runs the dispatcher."""

from __future__ import annotations

import logging
from datetime import timedelta

from plugin.sync.context import SyncContext

log = logging.getLogger(__name__)

PURGE_STREAM = "maintenance:purge"
PURGE_EVERY = timedelta(hours=1)


def purge_if_due(ctx: SyncContext) -> int:
    with ctx.unit_of_work() as uow:
        claimed = uow.cursors.claim_period(PURGE_STREAM, ctx.clock(), PURGE_EVERY)
    if not claimed:
        return 0
    purge_spent_grants(ctx)
    purge_stock_history(ctx)
    return purge_disconnected_shops(ctx)


# Stock updates are many (a product changing 100 times an hour is 100 rows): the finished ones
# are history, kept this long. An offer's last value sent and when stay on its link.
STOCK_HISTORY = timedelta(days=7)


def purge_stock_history(ctx: SyncContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.history.forget_stock_updates_before(ctx.clock() - STOCK_HISTORY)


# An install or sign-in grant is worth keeping a day after it expired (to tell a late click
# "expired" rather than "unknown"); after that it is only rows.
GRANT_KEEP = timedelta(days=1)


def purge_spent_grants(ctx: SyncContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.history.forget_grants_expired_before(ctx.clock() - GRANT_KEEP)


def purge_disconnected_shops(ctx: SyncContext) -> int:
    """Delete shops disconnected before now - retention_days. Returns how many. A shop that was
    re-installed meanwhile is active again and never matches."""
    cutoff = ctx.clock() - timedelta(days=ctx.settings.retention_days)
    purged = 0
    with ctx.unit_of_work() as uow:
        shop_ids = uow.shops.disconnected_before(cutoff)
    for shop_id in shop_ids:   # one transaction a shop: a big tenant never blocks the others for long
        with ctx.unit_of_work() as uow:
            if not uow.shops.purge(shop_id, cutoff):
                continue   # re-installed in between
        purged += 1
        log.info("shop %s purged: disconnected more than %d days ago", shop_id, ctx.settings.retention_days)
    return purged
