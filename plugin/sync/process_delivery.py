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
from plugin.sync.trashed_in_shop import order_deleted_in_shop

log = logging.getLogger(__name__)

ORDER_TOPICS = ("order.created", "order.updated")
DELETED_TOPIC = "order.deleted"   # moved to the Trash: the body is only {"id": N}
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
        deleted_id = _deleted_id(payload) if topic == DELETED_TOPIC else None
        product = None
        if topic in PRODUCT_TOPICS and shop_settings(shop).get("stock_sync"):
            try:
                product = ctx.adapters.parse_shop_product(shop, payload)
            except ValueError as exc:   # not a product: it will not become one; the reconcile covers it
                log.warning("delivery %s: unreadable product payload: %s", delivery_id, exc)
    outcome = "ignored"
    if shop_order is not None:
        outcome = apply_shop_order(ctx, shop_id, shop_order, f"webhook {topic}")
    elif deleted_id is not None:
        # the order is in the shop's Trash: an open order is flagged and never shipped. Raises
        # when the shop cannot be read now: left unprocessed, the recovery sweep runs it again.
        outcome = order_deleted_in_shop(ctx, shop_id, deleted_id, f"webhook {topic}")
    elif product is not None:
        # the payload is built when WooCommerce sends the delivery: the product as it is now. The
        # value sent is read again from the shop when the stock pusher sends it.
        outcome = "stock queued" if note_product_change(ctx, shop_id, product, topic) else "stock unchanged"
    with ctx.db.session() as s:
        s.execute(update(models.WebhookDelivery)
                  .where(models.WebhookDelivery.id == delivery_id, models.WebhookDelivery.processed_at.is_(None))
                  .values(processed_at=ctx.clock())
                  .execution_options(synchronize_session=False))
    return outcome


def _deleted_id(payload) -> int | None:
    """The order id of an order.deleted body ({"id": N}); anything else is recorded only."""
    value = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2 ** 63:
        return None
    return value
