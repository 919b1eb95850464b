"""Use case: create a stored marketplace order in the shop, exactly once.

The binding moves new -> creating -> created by compare-and-set, and `creating` is committed
*before* the shop is called. So when an attempt's outcome is unknown (timeout, 5xx after the
shop saved it, the worker killed between "shop said 201" and our commit), the binding is still
`creating`, and the next attempt first looks the order up in the shop by the marker it wrote
(meta `_orderbridge_ref`) and adopts it instead of creating a second one. A lease makes sure only
one worker at a time is between "look up" and "create".
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import case, or_, select, update

from adapters.errors import AdapterError, AuthError
from plugin.domain import IllegalTransition
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.context import SyncContext, lease
from plugin.sync.disconnect import DISCONNECTED, shop_active, shop_refused_keys
from plugin.sync.line_products import find_line_products, linked_products, unlinked_note
from plugin.sync.ports import Address, MarketplaceLine, ShopOrder, ShopOrderDraft, marketplace_title
from plugin.sync.retry import retry_delay, should_retry
from plugin.sync.shop_settings import shop_settings
from plugin.sync.sync_stock import stock_moved_for_lines

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# How far before the first attempt to look for an order we may have created.
LOOKUP_MARGIN = timedelta(minutes=5)


def create_in_shop(ctx: SyncContext, order_id: int) -> str:
    now = ctx.clock()
    with ctx.db.session() as s:
        binding = s.scalar(select(models.Binding).where(models.Binding.order_id == order_id))
        if binding is None or binding.state not in ("new", "creating"):
            return "nothing to do"   # created, error (a person resends) or manual (never again)
        if binding.next_attempt_at and binding.next_attempt_at > now + timedelta(seconds=1):
            return "not yet"
        if not shop_active(s.get(models.Shop, binding.shop_id)):
            return DISCONNECTED      # left `new`/`creating`: a re-install resumes it
        claimed = s.execute(
            update(models.Binding)
            .where(models.Binding.id == binding.id, models.Binding.state.in_(("new", "creating")),
                   or_(models.Binding.lease_until.is_(None), models.Binding.lease_until < now))
            .values(state="creating", lease_until=now + lease(ctx.settings), attempts=models.Binding.attempts + 1,
                    first_attempt_at=binding.first_attempt_at or now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return "busy"
        may_exist = binding.state == "creating"   # an earlier attempt may have reached the shop
        first_attempt_at = binding.first_attempt_at or now
        attempts = binding.attempts + 1
        ref = binding.ref
        order = s.get(models.Order, order_id)
        shop_row = s.get(models.Shop, order.shop_id)
        conn = s.get(models.Connection, order.connection_id)
        draft = _draft(order, conn, shop_row, ref)
        match_by = shop_settings(shop_row).get("stock_match_by", "ean")
        known = linked_products(s, conn.id, draft.lines, match_by)
        shop = ctx.adapters.shop(shop_row)
    # committed: the binding says `creating` before any request leaves
    try:
        created = shop.find_order_by_ref(ref, first_attempt_at - LOOKUP_MARGIN) if may_exist else None
        adopted = created is not None
        if created is None:
            # each line names its product, or the shop takes no stock off for it
            products = find_line_products(shop, draft.lines, match_by, known)
            draft = dataclasses.replace(draft, line_products=tuple(products))
            created = shop.create_order(draft)
    except AdapterError as exc:
        return _failed(ctx, binding.id, order_id, exc, attempts)
    if not _created(ctx, binding.id, order_id, created, adopted, draft):
        return "adopted" if adopted else "created"
    if shop_settings(shop_row).get("stock_sync"):
        # the shop took the lines off its stock (no product webhook follows that): the offers'
        # values are computed again (the units are no longer reserved by us, they are gone there);
        # a line's product is also named by its own EAN/SKU (it may match the link's key where
        # the line's does not)
        moved = [(line.ean, line.sku) for line in draft.lines]
        moved += [(p.ean, p.sku) for p in draft.line_products if p is not None]
        stock_moved_for_lines(ctx, shop_row.id, moved, "order in shop")
    return "adopted" if adopted else "created"


def _draft(order: models.Order, conn: models.Connection, shop: models.Shop, ref: str) -> ShopOrderDraft:
    addresses = order.address or {}
    shipping = Address(**(addresses.get("shipping") or {}))
    billing = Address(**addresses["billing"]) if addresses.get("billing") else None
    lines = tuple(
        MarketplaceLine(external_line_id=line.external_line_id, ean=line.ean, title=line.title,
                  quantity=line.quantity, unit_price=Decimal(line.unit_price), sku=line.sku)
        for line in order.lines
    )
    settings = shop.settings or {}
    return ShopOrderDraft(
        ref=ref, marketplace=conn.marketplace, marketplace_title=marketplace_title(conn.marketplace),
        external_id=order.external_id,
        status=settings.get("new_order_status", "processing"), lines=lines, shipping=shipping, billing=billing,
        note=f"{settings.get('order_prefix', '')}{conn.marketplace} order {order.external_id}".strip(),
    )


def _created(ctx: SyncContext, binding_id: int, order_id: int, created: ShopOrder, adopted: bool,
             draft: ShopOrderDraft) -> bool:
    with ctx.db.session() as s:
        moved = s.execute(
            update(models.Binding)
            .where(models.Binding.id == binding_id, models.Binding.state == "creating")
            .values(state="created", shop_order_id=created.id, shop_order_number=created.number,
                    lease_until=None, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved:
            how = "found the order an earlier attempt created" if adopted else "created"
            timeline.record(s, order_id, "call", f"shop: {how} as #{created.number} (id {created.id})")
            if not adopted:
                for i, line in enumerate(draft.lines):
                    if draft.product_of(i) is None:
                        timeline.record(s, order_id, "call", unlinked_note(line), outcome="error")
        return bool(moved)


def _failed(ctx: SyncContext, binding_id: int, order_id: int, exc: AdapterError, attempts: int) -> str:
    now = ctx.clock()
    if isinstance(exc, AuthError):
        return _keys_refused(ctx, binding_id, order_id, exc)
    with ctx.db.session() as s:
        binding = s.get(models.Binding, binding_id)
        if should_retry(exc, attempts, MAX_ATTEMPTS):
            delay = retry_delay(attempts, exc, in_flight_seconds=ctx.settings.in_flight_seconds)
            binding.lease_until = None
            binding.next_attempt_at = now + timedelta(seconds=delay)
            timeline.record(s, order_id, "call", f"shop: create failed, retrying in {delay:.1f} s: {exc}",
                            outcome="retry")
            ctx.queue.create_in_shop(order_id, delay=delay)
            return "retry"
        # needs a person: credentials, a refused order, or too many failures. The binding keeps
        # `first_attempt_at`, so a resend still looks the order up before creating it.
        binding.state = "error"
        binding.lease_until = None
        order = s.get(models.Order, order_id)
        domain = to_domain(order)
        try:
            domain.fail(f"could not create the order in the shop: {exc}")
        except IllegalTransition:
            pass
        write_back(order, domain)
        timeline.record(s, order_id, "state", f"error: could not create in shop: {exc}", outcome="error")
        return "error"


def _keys_refused(ctx: SyncContext, binding_id: int, order_id: int, exc: AdapterError) -> str:
    """The shop answered 401: not this order's fault, and every order of the shop would fail the
    same way. The shop is disconnected; the binding stays `creating` (retryable, and the attempt
    after the re-install looks the order up before creating it) and the attempt is not counted."""
    with ctx.db.session() as s:
        shop_id = s.get(models.Binding, binding_id).shop_id
        s.execute(update(models.Binding)
                  .where(models.Binding.id == binding_id, models.Binding.state == "creating")
                  .values(lease_until=None, next_attempt_at=None,
                          attempts=case((models.Binding.attempts > 0, models.Binding.attempts - 1), else_=0))
                  .execution_options(synchronize_session=False))
        timeline.record(s, order_id, "call", f"shop: refused our API keys: {exc}; the shop is disconnected, "
                                             f"the order is created after the app is reinstalled", outcome="retry")
    shop_refused_keys(ctx, shop_id, exc)
    return DISCONNECTED
