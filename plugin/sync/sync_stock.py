"""Use case: the shop's stock on the seller's marketplace offers, newest value wins.

Triggers write a `pending` stock update per offer link (plugin/store/models.StockUpdate) and
hint the connection's pusher; they never call the marketplace themselves:
- a product.updated webhook (note_product_change),
- stock moved by us in the shop: an order created there, an order cancelled or lines removed
  (stock_moved_for_lines),
- the reconcile every stock_reconcile_seconds (plugin/sync/reconcile_stock.py).

Coalescing is in the store: at most one pending update per offer (a partial unique index); a
newer value supersedes the pending one. The pusher (push_stock) is one worker per connection at a
time (a lease on the connection) and sends pending updates oldest first. It computes the value to
send *when it sends* (the shop's product read again, minus what this connection's marketplace
orders not yet in the shop reserve, minus the connection's buffer, never below 0), so however
late or out of order the triggers arrive, the last value read is the shop's newest. A value the
marketplace already has (the last one we sent) is not sent again.

Rate limits: a 429 pauses the connection's pusher until the marketplace's Retry-After (one
throttled call per pause, not a storm); the pending updates wait, and keep coalescing meanwhile.
A stock update is idempotent, so after an unknown outcome it is simply sent again, but never
before the in-flight horizon: a late commit of an older value must not land after a newer one.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.errors import AdapterError, AuthError, NotFound, RateLimited, TimedOut
from plugin.domain import StockState, sellable
from plugin.store import models
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import shop_active
from plugin.sync.ports import Offer, OfferStock, ShopProduct
from plugin.sync.retry import retry_delay, should_retry
from plugin.sync.shop_settings import shop_settings, stock_buffer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 200
RECONCILE = "reconcile"
AUTH_PAUSE = timedelta(minutes=5)
# Bindings whose order is not in the shop yet: their units are not off the shop's stock.
NOT_IN_SHOP = ("new", "creating")


# ---------------------------------------------------------------- matching and values
def match_key(item, match_by: str) -> str:
    """A product's (or an order line's) key for the offer: its EAN or its SKU."""
    return str((item.ean if match_by == "ean" else item.sku) or "").strip()


def offer_key(offer: Offer, match_by: str) -> str:
    return str((offer.ean if match_by == "ean" else offer.reference) or "").strip()


def reserved(s: Session, connection_id: int, match_by: str, keys=None) -> dict[str, int]:
    """Units of this connection's marketplace orders not yet in the shop, per match key."""
    line = models.OrderLine
    col = line.ean if match_by == "ean" else line.sku
    stmt = (select(col, func.sum(line.quantity - line.cancelled_quantity))
            .join(models.Binding, models.Binding.order_id == line.order_id)
            .where(models.Binding.connection_id == connection_id, models.Binding.state.in_(NOT_IN_SHOP))
            .group_by(col))
    if keys is not None:
        stmt = stmt.where(col.in_(list(keys)))
    return {key: max(0, int(n or 0)) for key, n in s.execute(stmt)}


def stock_connections(s: Session, shop_id: int) -> tuple[models.Shop | None, dict, list[models.Connection]]:
    """The shop, its settings and its connections that sync stock (none when it is off)."""
    shop = s.get(models.Shop, shop_id)
    if shop is None or not shop_active(shop):
        return shop, {}, []
    settings = shop_settings(shop)
    if not settings.get("stock_sync"):
        return shop, settings, []
    conns = list(s.scalars(select(models.Connection).where(models.Connection.shop_id == shop_id,
                                                           models.Connection.enabled.is_(True))))
    return shop, settings, conns


# ---------------------------------------------------------------- links and the outbox (in the caller's transaction)
# Lock order, everywhere: an offer's link row first, then its stock updates. Every writer of an
# offer's updates holds its link's row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite
# serializes writers anyway), so two of them never deadlock and never race for the one pending row.
def lock_link(s: Session, link_id: int) -> models.OfferLink:
    return s.scalars(select(models.OfferLink).where(models.OfferLink.id == link_id).with_for_update()
                     .execution_options(populate_existing=True)).one()


def locked(s: Session, update_id: int) -> tuple[models.StockUpdate, models.OfferLink]:
    """An update and its link, the link locked first."""
    link = lock_link(s, s.scalar(select(models.StockUpdate.link_id).where(models.StockUpdate.id == update_id)))
    return s.get(models.StockUpdate, update_id, populate_existing=True), link


def link_for(s: Session, connection_id: int, product: ShopProduct, match_by: str) -> models.OfferLink:
    """The product's link row for this connection, created once (the unique pair absorbs races).
    A changed match key (the merchant changed the EAN/SKU) means the offer is looked up again."""
    link = s.scalar(select(models.OfferLink).where(models.OfferLink.connection_id == connection_id,
                                                   models.OfferLink.shop_product_id == product.id))
    key = match_key(product, match_by)
    if link is None:
        try:
            with s.begin_nested():
                link = models.OfferLink(connection_id=connection_id, shop_product_id=product.id, match_key=key,
                                        sku=product.sku or "", ean=product.ean or "", parent_id=product.parent_id,
                                        listed=False, stock_status=StockState.PENDING.value)
                s.add(link)
        except IntegrityError:
            link = s.scalar(select(models.OfferLink).where(models.OfferLink.connection_id == connection_id,
                                                           models.OfferLink.shop_product_id == product.id))
    if link.match_key != key:
        link.match_key = key
        link.checked_at = None
        link.offer_id = None
        link.listed = False
    link.sku, link.ean, link.parent_id = product.sku or "", product.ean or "", product.parent_id
    link.shop_stock = product.stock
    return link


def queue_update(s: Session, link: models.OfferLink, amount: int | None, trigger: str, now: datetime) -> bool:
    """Write the newest value for this offer; True when a new pending update was written (the
    caller hints the pusher after its commit). `amount` None: computed when sent."""
    link = lock_link(s, link.id)
    pending = s.scalar(select(models.StockUpdate).where(models.StockUpdate.link_id == link.id,
                                                        models.StockUpdate.state == StockState.PENDING.value))
    if pending is not None:
        if amount is None or pending.amount == amount:
            if trigger == RECONCILE:
                pending.trigger = RECONCILE   # the marketplace differs: send even if we sent it before
            return False
        pending.state = StockState.SUPERSEDED.value
        pending.last_error = "a newer value replaced it before it was sent"
        s.flush()
    elif (amount is not None and trigger != RECONCILE and link.stock_status == StockState.SENT.value
          and link.last_amount == amount):
        return False   # the marketplace has this value already, and nothing else is on its way
    try:
        with s.begin_nested():
            s.add(models.StockUpdate(connection_id=link.connection_id, link_id=link.id, offer_id=link.offer_id,
                                     amount=amount, trigger=trigger, state=StockState.PENDING.value, created_at=now))
    except IntegrityError:
        return False   # another trigger wrote the pending update first: it is computed when sent
    link.stock_status = StockState.PENDING.value
    return True


def assign_offer(s: Session, link: models.OfferLink, offer: Offer | None, key: str, marketplace: str,
                 now: datetime) -> bool:
    """Link the product to its offer (or mark it Skipped). One product per offer."""
    link.checked_at = now
    if not key or offer is None:
        if link.offer_id is not None:
            link.offer_id = None
            s.flush()
        link.listed = False
        link.skip_reason = f"not listed on {marketplace}" if key else "no EAN/SKU in the shop to match an offer"
        link.stock_status = StockState.SKIPPED.value
        return False
    if link.offer_id != offer.offer_id:
        holder = s.scalar(select(models.OfferLink).where(models.OfferLink.connection_id == link.connection_id,
                                                         models.OfferLink.offer_id == offer.offer_id,
                                                         models.OfferLink.id != link.id))
        if holder is not None and holder.match_key == key:
            link.offer_id = None
            link.listed = False
            link.skip_reason = f"offer {offer.offer_id} is already linked to product {holder.shop_product_id}"
            link.stock_status = StockState.SKIPPED.value
            return False
        if holder is not None:       # its key changed: it gives the offer up
            holder.offer_id = None
            holder.listed = False
            holder.checked_at = None
            s.flush()
        link.offer_id = offer.offer_id
    link.listed = True
    link.skip_reason = None
    if offer.stock is not None:
        link.marketplace_stock = offer.stock
    if link.stock_status == StockState.SKIPPED.value:
        link.stock_status = "in_sync"
    return True


# ---------------------------------------------------------------- triggers
def note_product_change(ctx: SyncContext, shop_id: int, product: ShopProduct, trigger: str = "product.updated") -> int:
    """A product changed in the shop: a pending update for it on every connection that syncs
    stock. Returns how many were written (0 when stock sync is off or nothing changed)."""
    now = ctx.clock()
    hinted: set[int] = set()
    for _ in range(3):
        try:
            with ctx.db.session() as s:
                _, settings, conns = stock_connections(s, shop_id)
                for conn in conns:
                    match_by = settings.get("stock_match_by", "ean")
                    link = link_for(s, conn.id, product, match_by)
                    if link.checked_at is not None and not link.listed:
                        continue    # Skipped (not listed): the reconcile looks again
                    key = link.match_key
                    amount = sellable(product.stock, reserved(s, conn.id, match_by, [key]).get(key, 0),
                                      stock_buffer(conn))
                    if queue_update(s, link, amount, trigger, now):
                        hinted.add(conn.id)
            break
        except IntegrityError:   # two triggers created the same link at once: read again
            hinted.clear()
            continue
    for conn_id in hinted:
        ctx.queue.push_stock(conn_id)
    return len(hinted)


def stock_moved_for_lines(ctx: SyncContext, shop_id: int, lines: list[tuple[str, str]], trigger: str) -> int:
    """Stock moved in the shop without a product webhook (an order we created took it, a
    cancellation gave it back): `lines` are (ean, sku) of the order lines concerned. Each offer
    linked to them gets an update computed when sent."""
    if not lines:
        return 0
    now = ctx.clock()
    hinted: set[int] = set()
    with ctx.db.session() as s:
        _, settings, conns = stock_connections(s, shop_id)
        match_by = settings.get("stock_match_by", "ean")
        keys = {(ean if match_by == "ean" else sku) for ean, sku in lines} - {"", None}
        for conn in conns:
            for link in s.scalars(select(models.OfferLink).where(models.OfferLink.connection_id == conn.id,
                                                                 models.OfferLink.match_key.in_(keys),
                                                                 models.OfferLink.listed.is_(True))):
                if queue_update(s, link, None, trigger, now):
                    hinted.add(conn.id)
    for conn_id in hinted:
        ctx.queue.push_stock(conn_id)
    return len(hinted)


# ---------------------------------------------------------------- the pusher
class _Lease:
    """This pusher's hold on the connection: `until` is what it last wrote."""

    def __init__(self, until: datetime):
        self.until = until


def push_stock(ctx: SyncContext, connection_id: int) -> str:
    """Send the connection's pending stock updates, one worker at a time per connection."""
    outcome = "nothing to do"
    for _ in range(50):
        held = _claim(ctx, connection_id)
        if isinstance(held, str):
            return held if outcome == "nothing to do" else outcome
        try:
            outcome = _drain(ctx, connection_id, held)
        finally:
            _release(ctx, connection_id, held)
        # an update written while we were finishing found us busy: look once more
        if outcome != "drained" or not _due(ctx, connection_id):
            return outcome
    return outcome


def _claim(ctx: SyncContext, connection_id: int) -> _Lease | str:
    now = ctx.clock()
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None or not conn.enabled or not shop_active(s.get(models.Shop, conn.shop_id)):
            return "not active"
        if conn.stock_paused_until and conn.stock_paused_until > now:
            return "paused"
        token = now + lease(ctx.settings)
        claimed = s.execute(
            update(models.Connection)
            .where(models.Connection.id == connection_id,
                   or_(models.Connection.stock_lease_until.is_(None), models.Connection.stock_lease_until < now))
            .values(stock_lease_until=token)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return "busy"
        # Updates a dead pusher left `sending`: its lease (call + in-flight horizon) is over, so a
        # late commit can no longer land after ours: send them again (idempotent).
        for update_id in list(s.scalars(select(models.StockUpdate.id).where(
                models.StockUpdate.connection_id == connection_id, models.StockUpdate.state == StockState.SENDING.value))):
            row, _ = locked(s, update_id)
            _back_to_pending(s, row, "the worker sending it stopped: sending it again")
    return _Lease(token)


def _release(ctx: SyncContext, connection_id: int, held: _Lease) -> None:
    with ctx.db.session() as s:
        s.execute(update(models.Connection)
                  .where(models.Connection.id == connection_id, models.Connection.stock_lease_until == held.until)
                  .values(stock_lease_until=None).execution_options(synchronize_session=False))


def _renew(ctx: SyncContext, s: Session, connection_id: int, held: _Lease) -> None:
    until = ctx.clock() + lease(ctx.settings)
    s.execute(update(models.Connection)
              .where(models.Connection.id == connection_id, models.Connection.stock_lease_until == held.until)
              .values(stock_lease_until=until).execution_options(synchronize_session=False))
    held.until = until


def _due_filter(now: datetime):
    return (models.StockUpdate.state == StockState.PENDING.value,
            or_(models.StockUpdate.next_attempt_at.is_(None), models.StockUpdate.next_attempt_at <= now),
            or_(models.OfferLink.hold_until.is_(None), models.OfferLink.hold_until <= now))


def _due(ctx: SyncContext, connection_id: int) -> bool:
    with ctx.db.session() as s:
        return s.scalar(select(models.StockUpdate.id)
                        .join(models.OfferLink, models.OfferLink.id == models.StockUpdate.link_id)
                        .where(models.StockUpdate.connection_id == connection_id, *_due_filter(ctx.clock()))
                        .limit(1)) is not None


def _drain(ctx: SyncContext, connection_id: int, held: _Lease) -> str:
    while True:
        now = ctx.clock()
        with ctx.db.session() as s:
            ids = list(s.scalars(select(models.StockUpdate.id)
                                 .join(models.OfferLink, models.OfferLink.id == models.StockUpdate.link_id)
                                 .where(models.StockUpdate.connection_id == connection_id, *_due_filter(now))
                                 .order_by(models.StockUpdate.id).limit(BATCH)))
        if not ids:
            return "drained"
        for update_id in ids:
            outcome = _send_one(ctx, connection_id, update_id, held)
            if outcome in ("paused", "stopped"):
                return outcome


def _send_one(ctx: SyncContext, connection_id: int, update_id: int, held: _Lease) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        row, link = locked(s, update_id)
        if row.state != StockState.PENDING.value:
            return "gone"   # superseded meanwhile
        row.state = StockState.SENDING.value
        row.attempts += 1
        conn = s.get(models.Connection, connection_id)
        shop = s.get(models.Shop, conn.shop_id)
        settings = shop_settings(shop)
        if not settings.get("stock_sync"):
            _finish(s, row, link, StockState.SKIPPED, "stock sync is off for this shop")
            return "skipped"
        if settings.get("test_mode"):
            _finish(s, row, link, StockState.SKIPPED, "test mode: not sent to the marketplace")
            return "skipped"
        link.stock_status = StockState.SENDING.value
        match_by = settings.get("stock_match_by", "ean")
        product_id, trigger, attempts = link.shop_product_id, row.trigger, row.attempts
        needs_offer = link.checked_at is None or not link.offer_id
        old_key = link.match_key
        buffer = stock_buffer(conn)
        marketplace = ctx.adapters.marketplace(conn)
        shop_port = ctx.adapters.shop(shop)
        marketplace_name = conn.marketplace
    # committed: the update is `sending`; nothing has left yet
    try:
        product = shop_port.get_product(product_id)
    except NotFound:
        return _done(ctx, update_id, StockState.SKIPPED, "the product no longer exists in the shop")
    except AdapterError as exc:
        return _failed(ctx, update_id, exc, attempts)
    key = match_key(product, match_by)
    if needs_offer or key != old_key:
        try:
            offers = (marketplace.find_offers(eans=(key,)) if match_by == "ean"
                      else marketplace.find_offers(reference=key)) if key else []
        except AdapterError as exc:
            return _failed(ctx, update_id, exc, attempts)
        offer = next((o for o in offers if offer_key(o, match_by) == key), None)
        try:
            with ctx.db.session() as s:
                link = link_for(s, connection_id, product, match_by)
                listed = assign_offer(s, link, offer, key, marketplace_name, ctx.clock())
        except IntegrityError:   # the reconcile linked the offer at the same moment: next round
            return _failed(ctx, update_id, AdapterError("offer link changed meanwhile"), attempts, retry=True)
        if not listed:
            return _done(ctx, update_id, StockState.SKIPPED, None)
    now = ctx.clock()
    with ctx.db.session() as s:
        row, link = locked(s, update_id)
        link.shop_stock = product.stock
        amount = sellable(product.stock, reserved(s, connection_id, match_by, [key]).get(key, 0), buffer)
        if amount is None:
            _finish(s, row, link, StockState.SKIPPED, "the shop does not manage this product's stock")
            return "skipped"
        if trigger != RECONCILE and link.last_sent_at is not None and link.last_amount == amount:
            row.amount = amount
            _finish(s, row, link, StockState.SUPERSEDED, f"unchanged: {amount} is on the marketplace already")
            return "unchanged"
        row.amount = amount
        row.offer_id = link.offer_id
        request = OfferStock(offer_id=link.offer_id, amount=amount, managed_by_retailer=True)
        _renew(ctx, s, connection_id, held)   # the lease covers this call and its in-flight horizon
    # committed: amount and `sending` are on disk before the request leaves
    try:
        result = marketplace.update_stock(request)
    except AdapterError as exc:
        return _failed(ctx, update_id, exc, attempts, may_have_reached=not isinstance(exc, (RateLimited, AuthError)))
    with ctx.db.session() as s:
        row, link = locked(s, update_id)
        row.process_id = result.process_id
        row.sent_at = now
        link.last_amount = amount
        link.last_sent_at = now
        link.marketplace_stock = amount
        link.hold_until = None
        if result.status == "FAILURE":
            _finish(s, row, link, StockState.ERROR, f"the marketplace refused the stock update: {result.error or ''}")
            return "error"
        _finish(s, row, link, StockState.SENT, None)
    return "sent"


def _newer_pending(s: Session, row: models.StockUpdate) -> bool:
    return s.scalar(select(models.StockUpdate.id).where(models.StockUpdate.link_id == row.link_id,
                                                        models.StockUpdate.id != row.id,
                                                        models.StockUpdate.state == StockState.PENDING.value)) is not None


def _finish(s: Session, row: models.StockUpdate, link: models.OfferLink, state: StockState, note: str | None) -> None:
    row.state = state.value
    row.last_error = note
    if state in (StockState.ERROR, StockState.SKIPPED) and note:
        link.last_error = note
    elif state is StockState.SENT:
        link.last_error = None
    # the link shows its newest update: a newer pending one stays what the merchant sees
    if not _newer_pending(s, row):
        link.stock_status = (state.value if state is not StockState.SUPERSEDED
                             else (StockState.SENT.value if link.last_sent_at else "in_sync"))


def _done(ctx: SyncContext, update_id: int, state: StockState, note: str | None) -> str:
    with ctx.db.session() as s:
        row, link = locked(s, update_id)
        _finish(s, row, link, state, note or link.skip_reason)
    return state.value


def _back_to_pending(s: Session, row: models.StockUpdate, note: str, not_before: datetime | None = None) -> None:
    """An update that was not (or may not have been) applied goes back in line, unless a newer
    value is already waiting: then that one carries the newest stock and this one is superseded."""
    if _newer_pending(s, row):
        row.state = StockState.SUPERSEDED.value
        row.last_error = note
        return
    row.state = StockState.PENDING.value
    row.next_attempt_at = not_before
    row.last_error = note


def _failed(ctx: SyncContext, update_id: int, exc: AdapterError, attempts: int, *, may_have_reached: bool = False,
            retry: bool = False) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        row, link = locked(s, update_id)
        conn = s.get(models.Connection, row.connection_id)
        if isinstance(exc, RateLimited):
            # the marketplace did not take it: wait its Retry-After, all of this connection's updates
            pause = exc.retry_after + random.uniform(0, max(0.05, exc.retry_after / 4))
            conn.stock_paused_until = now + timedelta(seconds=pause)
            row.attempts = max(0, row.attempts - 1)    # being throttled is not failing
            _back_to_pending(s, row, f"rate limited: waiting {pause:.1f} s")
            ctx.queue.push_stock(row.connection_id, delay=pause)
            return "paused"
        if isinstance(exc, AuthError):
            conn.stock_paused_until = now + AUTH_PAUSE
            conn.last_error = f"stock update refused: {exc}"[:2000]
            _back_to_pending(s, row, f"credentials refused: {exc}")
            return "stopped"
        if isinstance(exc, NotFound) and not retry:
            link.checked_at = None      # the offer is gone: look it up again before the next send
            if attempts >= 2:
                _finish(s, row, link, StockState.ERROR, f"the offer was not found on the marketplace: {exc}")
                return "error"
            _back_to_pending(s, row, f"offer not found, looking it up again: {exc}")
            return "retry"
        if retry or should_retry(exc, attempts, MAX_ATTEMPTS):
            delay = retry_delay(attempts, exc, in_flight_seconds=ctx.settings.in_flight_seconds)
            if may_have_reached and isinstance(exc, TimedOut):
                # may still commit on the marketplace: nothing newer for this offer before then
                delay = max(delay, ctx.settings.in_flight_seconds)
            link.hold_until = now + timedelta(seconds=delay)
            _back_to_pending(s, row, f"not confirmed, again in {delay:.1f} s: {exc}")
            link.last_error = f"{exc}"[:2000]
            ctx.queue.push_stock(row.connection_id, delay=delay)
            return "retry"
        _finish(s, row, link, StockState.ERROR, f"{exc}"[:2000])
        return "error"
