"""Use case: act on one recorded shop webhook delivery. The web layer only verified, recorded
and enqueued it; here its order payload is applied. Marking it processed makes a re-run (a
redelivered job, the recovery sweep) a no-op."""

from __future__ import annotations

import json
import logging

from sqlalchemy import update

from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.context import SyncContext
from plugin.sync.disconnect import DISCONNECTED, shop_active
from plugin.sync.shop_settings import shop_settings
from plugin.sync.sync_stock import note_product_change

log = logging.getLogger(__name__)

ORDER_TOPICS = ("order.created", "order.updated")
PRODUCT_TOPICS = ("product.created", "product.updated")


def process_delivery(ctx: SyncContext, delivery_id: int) -> str:
    with ctx.db.session() as s:
        delivery = s.get(models.WebhookDelivery, delivery_id)
        if delivery is None or delivery.processed_at is not None:
            return "nothing to do"
        shop = s.get(models.Shop, delivery.shop_id)
        if not shop_active(shop):
            return DISCONNECTED   # left unprocessed: a re-install applies it
        topic, payload, shop_id = delivery.topic, json.loads(delivery.payload), shop.id
        shop_order = None
        if topic in ORDER_TOPICS:
            try:
                shop_order = ctx.adapters.parse_shop_order(shop, payload)
            except ValueError as exc:
                # signed by the shop but not an order: it never becomes one, so it is recorded as
                # processed instead of swept again forever; the shop poll still reads the order
                log.warning("delivery %s: unreadable order payload: %s", delivery_id, exc)
        product = None
        if topic in PRODUCT_TOPICS and shop_settings(shop).get("stock_sync"):
            try:
                product = ctx.adapters.parse_shop_product(shop, payload)
            except ValueError as exc:   # not a product: it will not become one; the reconcile covers it
                log.warning("delivery %s: unreadable product payload: %s", delivery_id, exc)
    outcome = "ignored"
    if shop_order is not None:
        outcome = apply_shop_order(ctx, shop_id, shop_order, f"webhook {topic}")
    elif product is not None:
        # the payload is built when WooCommerce sends the delivery: the product as it is now. The
        # value sent is read again from the shop when the stock pusher sends it.
        outcome = "stock queued" if note_product_change(ctx, shop_id, product, topic) else "stock unchanged"
    # order.deleted is recorded only (an order deleted in the shop is not a cancellation).
    with ctx.db.session() as s:
        s.execute(update(models.WebhookDelivery)
                  .where(models.WebhookDelivery.id == delivery_id, models.WebhookDelivery.processed_at.is_(None))
                  .values(processed_at=ctx.clock())
                  .execution_options(synchronize_session=False))
    return outcome
