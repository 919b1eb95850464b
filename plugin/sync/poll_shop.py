"""Use case: the safety net behind webhooks. Every few minutes, read the shop's orders modified
since the last poll (minus an overlap, so a clock skew or a slow commit loses nothing) and apply
the ones that are ours; make sure our webhooks exist and are active (WooCommerce disables a
webhook at a failed delivery while its failure count is above 5; a disabled one is replaced by a
new one, never re-activated, since the shop keeps the count and would disable it again at the
next failure)."""

from __future__ import annotations

import logging
from datetime import timedelta

from adapters.errors import AdapterError, AuthError
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.context import SyncContext
from plugin.sync.disconnect import shop_active, shop_refused_keys
from plugin.sync.shop_capabilities import refresh_capabilities
from plugin.sync.shop_webhooks import WEBHOOK_TOPICS, webhook_url

__all__ = ["OVERLAP", "WEBHOOK_TOPICS", "poll_shop", "webhook_url"]

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)


def poll_shop(ctx: SyncContext, shop_id: int) -> dict:
    """Counts of what applying each order did. A disconnected shop is not polled ({}); a shop
    that refuses our keys (401) is disconnected ({"shop disconnected": 1})."""
    started = ctx.clock()
    stream = f"shop:{shop_id}:orders"
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        if not shop_active(shop):
            return {}
        since = (uow.cursors.read_from(stream) or shop.created_at) - OVERLAP
        port = ctx.adapters.shop(shop)
        secret = ctx.box.open(shop.webhook_secret)
        url = webhook_url(ctx, shop)
    counts: dict[str, int] = {}
    try:
        for shop_order in port.orders_modified_after(since):
            if not shop_order.ref:
                continue  # not created by orderbridge
            outcome = apply_shop_order(ctx, shop_id, shop_order, "shop poll")
            counts[outcome] = counts.get(outcome, 0) + 1
        port.ensure_webhooks(url, secret, WEBHOOK_TOPICS)
    except AuthError as exc:
        # Dead keys: every further call fails the same way until the merchant re-installs. The
        # cursor stays where it was, so the first poll after the re-install misses nothing.
        reason = shop_refused_keys(ctx, shop_id, exc)
        with ctx.unit_of_work() as uow:
            uow.cursors.failed(stream, reason)
        return {"shop disconnected": 1}
    except AdapterError as exc:
        with ctx.unit_of_work() as uow:
            uow.cursors.failed(stream, str(exc))
        raise
    with ctx.unit_of_work() as uow:
        uow.cursors.succeeded(stream, started, ctx.clock())
    refresh_capabilities(ctx, shop_id)   # daily (hourly while unknown): a shop gets upgraded
    return counts
