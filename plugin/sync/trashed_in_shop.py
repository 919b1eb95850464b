"""Use case: the shop says one of our orders is in its Trash (an `order.deleted` webhook, a view
with status "trash", or a 404 where the order was). WooCommerce sends `order.deleted` alone when
the order is trashed through the REST API or from the admin with HPOS, and `order.updated` with
status "trash" first from the admin list without HPOS; it sends nothing when the Trash is emptied.

An open order (not shipped, waiting for its T&T) that is trashed is flagged (plugin/domain/order.py
TRASHED_IN_SHOP) and never shipped; restoring it in the shop lets it go on. `order.deleted` carries
only the id, and deliveries are reordered and redelivered, so the order is read again from the shop
(outside any transaction) before it is flagged: an order restored meanwhile is applied as it is.
A view with status "trash" goes through apply_shop_order like any other (the domain flags it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from adapters.errors import NotFound
from plugin.domain import OrderStatus
from plugin.store import models, timeline
from plugin.store.orders import to_domain, write_back
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.context import SyncContext

OPEN = (OrderStatus.NOT_SHIPPED.value, OrderStatus.WAITING.value)
# A 404 that is not the shop's word about this order: WordPress has no such REST route
# (WooCommerce deactivated, routes broken) or the answer is a web page, not WordPress JSON.
NOT_ABOUT_THE_ORDER = (None, "rest_no_route")


def order_gone(exc: NotFound) -> bool:
    """The 404 says the order no longer exists (deleted for good), not that the API is missing:
    that one is a shop that cannot be read now, and flagging every order on it would be wrong."""
    return getattr(exc, "wc_code", None) not in NOT_ABOUT_THE_ORDER


def order_deleted_in_shop(ctx: SyncContext, shop_id: int, shop_order_id: int, source: str) -> str:
    """An `order.deleted` delivery. Raises AdapterError when the shop cannot be read now: the
    delivery stays unprocessed and the recovery sweep runs it again."""
    with ctx.db.session() as s:
        binding = _binding_of(s, shop_id, shop_order_id)
        if binding is None:
            return "not ours"
        order = s.get(models.Order, binding.order_id)
        if order.status not in OPEN:
            return "recorded"   # shipped, cancelled, manual, already flagged: nothing of ours to stop
        port = ctx.adapters.shop(s.get(models.Shop, shop_id))
    try:
        shop_order = port.get_order(shop_order_id)
    except NotFound as exc:
        if not order_gone(exc):
            raise
        return flag_gone(ctx, shop_id, shop_order_id, f"{source}; the order is gone from the shop")
    return apply_shop_order(ctx, shop_id, shop_order, f"{source}, read again")


def _binding_of(s, shop_id: int, shop_order_id: int) -> models.Binding | None:
    return s.scalar(select(models.Binding).where(models.Binding.shop_id == shop_id,
                                                 models.Binding.shop_order_id == shop_order_id))


def flag_gone(ctx: SyncContext, shop_id: int, shop_order_id: int, source: str) -> str:
    """The shop answers 404 for the order: deleted for good (trashed, then the Trash emptied, or
    deleted through the API). The open order is flagged as trashed. A gone order has no newer
    views, so any view still on its way (a late or reordered delivery) is older than now: the
    order's shop time is moved to now, and such a view is dropped as stale instead of
    "restoring" it."""
    for _ in range(5):   # the order row changed under us: read again
        try:
            with ctx.db.session() as s:
                binding = _binding_of(s, shop_id, shop_order_id)
                if binding is None:
                    return "not ours"
                order = s.get(models.Order, binding.order_id)
                domain = to_domain(order)
                outcome = domain.trashed_in_shop()
                if outcome.status is None:
                    return "no change"
                now = ctx.clock()
                write_back(order, domain)
                order.updated_at = now
                order.shop_modified_at = max(order.shop_modified_at or now, now)
                timeline.record(s, order.id, "state", f"{outcome.status.value}: {outcome.reason} "
                                                      f"(shop #{binding.shop_order_number}, via {source})",
                                outcome="error")
            return outcome.status.value
        except StaleDataError:
            continue
    raise RuntimeError(f"order for shop order {shop_order_id} kept changing under us")
