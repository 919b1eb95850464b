"""Use case: pull the open orders of one marketplace connection and store each new one once.

The marketplace's open-orders list is read whole on every poll (an overlapping window by
construction); the unique binding (connection, external id) absorbs every repeat, including two
pollers or two record jobs racing each other. Like OCA's batch importer, the poll only lists and
queues one `import_order` job per new record: details are fetched in parallel by the workers, and
one bad order never holds up the others. Each stored order goes straight on to create_in_shop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from adapters.errors import AdapterError
from plugin.store import models, timeline
from plugin.store.billing import record_usage
from plugin.store.cursors import poll_failed, poll_succeeded
from plugin.sync.cancellations import buyer_requests
from plugin.sync.connect import account_ref
from plugin.sync.context import SyncContext
from plugin.sync.disconnect import shop_active
from plugin.sync.ports import MarketplaceOrder

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    seen: int = 0
    queued: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)   # known orders read again for cancellation requests


def binding_ref(connection_id: int, external_id: str) -> str:
    """The marker written into the shop order; deterministic so a lost answer can be found."""
    return f"ob-{connection_id}-{external_id}"


def import_orders(ctx: SyncContext, connection_id: int) -> ImportResult:
    result = ImportResult()
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None or not conn.enabled or not shop_active(s.get(models.Shop, conn.shop_id)):
            return result   # a disconnected shop's connections wait for its re-install
        marketplace = ctx.adapters.marketplace(conn)
        stream = f"connection:{conn.id}:orders"
    started = ctx.clock()
    try:
        summaries = list(marketplace.list_open_orders())
    except AdapterError as exc:
        _record_poll_error(ctx, connection_id, stream, exc)
        raise
    result.seen = len(summaries)
    known = _known_ids(ctx, connection_id, [o.external_id for o in summaries])
    for summary in summaries:
        if summary.external_id not in known:
            result.queued.append(summary.external_id)
            ctx.queue.import_order(connection_id, summary.external_id)
    # Known open orders: has the buyer asked to cancel lines since? import_order of a known order
    # reads its detail again and applies the requests (plugin/sync/cancellations.py).
    # (A marketplace without cancellation requests has nothing to read again for.)
    rechecks = known if marketplace.capabilities.cancellation_requests else set()
    for external_id in _to_check_for_cancellations(ctx, connection_id, [s for s in summaries
                                                                         if s.external_id in rechecks]):
        result.checked.append(external_id)
        ctx.queue.import_order(connection_id, external_id)
    with ctx.db.session() as s:
        poll_succeeded(s, stream, started, ctx.clock())
        conn = s.get(models.Connection, connection_id)
        conn.last_error = None
        # A successful poll is what makes the seller account billable this month.
        if conn.account_ref is None:   # connected before account refs existed: backfill
            conn.account_ref = account_ref(conn.marketplace, ctx.box.open_json(conn.credentials))
        if conn.account_ref is not None:
            record_usage(s, conn.shop_id, conn.marketplace, conn.account_ref, conn.name, ctx.clock())
    log.info("connection %s: %d open, %d new", connection_id, result.seen, len(result.queued))
    return result


def import_order(ctx: SyncContext, connection_id: int, external_id: str) -> int | None:
    """One record: fetch the detail, store order + lines + binding once, hand it to the shop."""
    with ctx.db.session() as s:
        conn = s.get(models.Connection, connection_id)
        if conn is None or not conn.enabled or not shop_active(s.get(models.Shop, conn.shop_id)):
            return None   # the first poll after a re-install lists it again
        known = s.scalar(select(models.Binding.id).where(models.Binding.connection_id == connection_id,
                                                        models.Binding.external_id == external_id))
        marketplace = ctx.adapters.marketplace(conn)
    order = marketplace.get_order(external_id)   # an error: the next poll queues it again
    requested = tuple(line.external_line_id for line in order.lines if line.cancellation_requested)
    if known:
        if requested:
            buyer_requests(ctx, connection_id, external_id, requested)
        return None
    if order.fulfilment_method != "FBR":
        return None                              # fulfilled by the marketplace itself: not ours to ship
    order_id = _store(ctx, conn, order)
    if order_id is None:
        return None
    # the buyer may have asked to cancel before we ever saw the order: an order cancelled whole is
    # never created in the shop (its cancellation job sees the binding still `new`)
    if not requested or buyer_requests(ctx, connection_id, external_id, requested) != "cancelling the order":
        ctx.queue.create_in_shop(order_id)
    return order_id


# How the open-orders list tells which lines carry a buyer's cancellation request (bol's list has
# it per item). A marketplace whose list cannot say leaves it None: then known orders not yet
# shipped on the marketplace are read again each poll, within a budget.
SUMMARY_REQUESTS = "cancellation_requested"


def _to_check_for_cancellations(ctx: SyncContext, connection_id: int, summaries: list) -> list[str]:
    if not summaries:
        return []
    now = ctx.clock()
    flagged = {s.external_id: tuple(getattr(s, SUMMARY_REQUESTS)) for s in summaries
               if getattr(s, SUMMARY_REQUESTS, None) is not None}
    out: list[str] = []
    unflagged: list[tuple] = []
    with ctx.db.session() as s:
        ids = [summary.external_id for summary in summaries]
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = s.execute(select(models.Order.external_id, models.Order.status, models.Order.error_from,
                                    models.Order.cancellation_checked_at, models.OrderLine.external_line_id,
                                    models.OrderLine.cancellation_requested)
                             .join(models.OrderLine, models.OrderLine.order_id == models.Order.id)
                             .where(models.Order.connection_id == connection_id, models.Order.external_id.in_(chunk),
                                    models.Order.status.in_(CHECKED_STATUSES)))
            asked: dict[str, set[str]] = {}
            unasked: dict[str, set[str]] = {}
            checkable: dict[str, object] = {}
            for external_id, status, error_from, checked_at, line_id, requested in rows:
                (asked if requested else unasked).setdefault(external_id, set()).add(line_id)
                if status in ("not_shipped", "waiting") or (status == "error"
                                                             and error_from in (None, "not_shipped", "waiting")):
                    checkable[external_id] = checked_at
            for external_id in chunk:
                if external_id in flagged:     # the list says which lines: only what is new costs a call
                    present = external_id in asked or external_id in unasked
                    if present and set(flagged[external_id]) - asked.get(external_id, set()):
                        out.append(external_id)
                elif external_id in checkable and unasked.get(external_id):
                    checked_at = checkable[external_id]
                    if checked_at is None or checked_at <= now - RECHECK_AFTER:
                        unflagged.append((checked_at is not None, checked_at or now, external_id))
        # no flags in the list: read known open orders again, the longest unchecked first, within a
        # budget per poll, none more often than RECHECK_AFTER
        chosen = [external_id for *_, external_id in sorted(unflagged)[:CHECK_BUDGET]]
        for i in range(0, len(chosen), 500):
            s.execute(update(models.Order)
                      .where(models.Order.connection_id == connection_id, models.Order.external_id.in_(chosen[i:i + 500]))
                      .values(cancellation_checked_at=now).execution_options(synchronize_session=False))
    return out + chosen


# Orders a buyer's request can still concern (cancelled or refused with a reason on the timeline).
# Without flags in the list, only orders not shipped on the marketplace yet are read again (not
# shipped, waiting for T&T, or in error before that), at most CHECK_BUDGET a poll and each at most
# every RECHECK_AFTER. A shipped line's request is refused by the marketplace by itself.
CHECKED_STATUSES = ("not_shipped", "waiting", "shipped", "error")
CHECK_BUDGET = 200
RECHECK_AFTER = timedelta(seconds=60)


def _known_ids(ctx: SyncContext, connection_id: int, external_ids: list[str]) -> set[str]:
    known: set[str] = set()
    with ctx.db.session() as s:
        for i in range(0, len(external_ids), 500):
            chunk = external_ids[i:i + 500]
            known.update(s.scalars(select(models.Binding.external_id).where(
                models.Binding.connection_id == connection_id, models.Binding.external_id.in_(chunk))))
    return known


def _store(ctx: SyncContext, conn: models.Connection, order: MarketplaceOrder) -> int | None:
    try:
        with ctx.db.session() as s:
            row = models.Order(
                shop_id=conn.shop_id, connection_id=conn.id, external_id=order.external_id,
                status="not_shipped", placed_at=order.placed_at,
                address={"shipping": _address(order.shipping),
                         "billing": _address(order.billing) if order.billing else None},
            )
            row.lines = [
                models.OrderLine(external_line_id=line.external_line_id, ean=line.ean, sku=line.sku,
                                 title=line.title, quantity=line.quantity, unit_price=str(line.unit_price))
                for line in order.lines
            ]
            s.add(row)
            s.flush()
            s.add(models.Binding(connection_id=conn.id, external_id=order.external_id, shop_id=conn.shop_id,
                                 order_id=row.id, ref=binding_ref(conn.id, order.external_id), state="new"))
            timeline.record(s, row.id, "state",
                            f"imported from {conn.marketplace} ({len(order.lines)} lines): not shipped")
            return row.id
    except IntegrityError:
        return None  # another poller stored it first: the binding did its job


def _address(address) -> dict:
    return {k: getattr(address, k) for k in address.__dataclass_fields__}


def _record_poll_error(ctx: SyncContext, connection_id: int, stream: str, exc: Exception) -> None:
    with ctx.db.session() as s:
        poll_failed(s, stream, str(exc))
        conn = s.get(models.Connection, connection_id)
        if conn is not None:
            conn.last_error = str(exc)[:2000]
