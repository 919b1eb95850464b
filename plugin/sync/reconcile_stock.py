"""Use case: compare and correct, per connection, every stock_reconcile_seconds (default 5 min).

Reads every offer of the seller (list_offers) and every product of the shop with managed stock
(all_products), refreshes the offer links (a product whose EAN/SKU matches no offer is Skipped,
not an error) and queues an update for every listed product whose marketplace stock differs from
the value it should have. A webhook lost on the way, an order the marketplace subtracted
differently, a value the merchant typed on the marketplace: the next reconcile corrects it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from adapters.errors import AdapterError
from plugin.domain import sellable
from plugin.store import models
from plugin.store.cursors import poll_failed, poll_succeeded
from plugin.sync.context import SyncContext
from plugin.sync.disconnect import shop_active
from plugin.sync.dispatch import periodic_failed, periodic_succeeded
from plugin.sync.shop_settings import shop_settings, stock_buffer
from plugin.sync.sync_stock import (
    RECONCILE,
    assign_offer,
    link_for,
    match_key,
    offer_key,
    queue_update,
    reserved,
)

log = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class Reconciled:
    products: int = 0
    listed: int = 0
    skipped: int = 0
    queued: int = 0


def reconcile_stock(ctx: SyncContext, connection_id: int) -> Reconciled:
    out = Reconciled()
    stream = f"connection:{connection_id}:stock"
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None or not conn.enabled:
            return out
        shop = s.get(models.Shop, conn.shop_id)
        settings = shop_settings(shop)
        if not shop_active(shop) or not settings.get("stock_sync"):
            return out
        match_by = settings.get("stock_match_by", "ean")
        buffer = stock_buffer(conn)
        marketplace = ctx.adapters.marketplace(conn)
        shop_port = ctx.adapters.shop(shop)
        marketplace_name = conn.marketplace
    started = ctx.clock()
    try:
        offers: dict[str, object] = {}
        for offer in marketplace.list_offers():
            offers.setdefault(offer_key(offer, match_by), offer)
        offers.pop("", None)
        products = list(shop_port.all_products())
    except AdapterError as exc:
        with ctx.db.session() as s:
            poll_failed(s, stream, str(exc))
        periodic_failed(ctx, connection_id, "stock", exc)   # sooner than the interval when retryable
        raise
    out.products = len(products)
    for i in range(0, len(products), CHUNK):
        chunk = products[i:i + CHUNK]
        now = ctx.clock()
        with ctx.db.session() as s:
            held = reserved(s, connection_id, match_by, {match_key(p, match_by) for p in chunk})
            for product in chunk:
                link = link_for(s, connection_id, product, match_by)
                key = link.match_key
                offer = offers.get(key) if key else None
                if not assign_offer(s, link, offer, key, marketplace_name, now):
                    out.skipped += 1
                    continue
                out.listed += 1
                desired = sellable(product.stock, held.get(key, 0), buffer)
                if desired is None:
                    link.stock_status = "skipped"
                    link.skip_reason = "the shop does not manage this product's stock"
                    continue
                if offer.stock != desired and queue_update(s, link, desired, RECONCILE, now):
                    out.queued += 1
                elif offer.stock == desired and link.stock_status in ("pending", "skipped", "error") and not _open(s, link):
                    link.stock_status = "sent" if link.last_sent_at else "in_sync"
    with ctx.db.session() as s:
        poll_succeeded(s, stream, started, ctx.clock())
    periodic_succeeded(ctx, connection_id, "stock")
    if out.queued:
        ctx.queue.push_stock(connection_id)
    log.info("stock reconcile of connection %s: %s", connection_id, out)
    return out


def _open(s, link: models.OfferLink) -> bool:
    return s.scalar(select(models.StockUpdate.id).where(models.StockUpdate.link_id == link.id,
                                                        models.StockUpdate.state.in_(("pending", "sending")))) is not None
