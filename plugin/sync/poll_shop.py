"""Use case: the safety net behind webhooks. Every few minutes, read the shop's orders modified
since the last poll (minus an overlap, so a clock skew or a slow commit loses nothing) and apply
the ones that are ours; make sure our webhooks exist and are active again (WooCommerce disables a
webhook after 5 failed deliveries)."""

from __future__ import annotations

import logging
from datetime import timedelta

from adapters.errors import AdapterError
from plugin.store import models
from plugin.store.cursors import cursor_for
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.context import SyncContext

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")


def webhook_url(ctx: SyncContext, shop: models.Shop) -> str:
    return f"{ctx.settings.public_url}/webhooks/woocommerce/{shop.public_id}"


def poll_shop(ctx: SyncContext, shop_id: int) -> dict:
    started = ctx.clock()
    stream = f"shop:{shop_id}:orders"
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        if shop is None or shop.status != "active":
            return {}
        since = (cursor_for(s, stream).cursor_at or shop.created_at) - OVERLAP
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
    except AdapterError as exc:
        with ctx.db.session() as s:
            cursor_for(s, stream).last_error = str(exc)[:2000]
        raise
    with ctx.db.session() as s:
        cursor = cursor_for(s, stream)
        cursor.cursor_at = started
        cursor.last_success_at = ctx.clock()
        cursor.last_error = None
    return counts
