"""Running the sync without a worker: `orderbridge sync once` for cron users. The Enqueuer here
does the work at once in this process; work asked for later (a retry after a delay) is left to
the next run, whose sweeps find it in the database. A poll asked for later is the exception (see
`_add`)."""

from __future__ import annotations

from collections import deque

from adapters.errors import AdapterError
from plugin.sync.context import SyncContext

# The periodic jobs the heartbeat schedules by their due time.
POLLS = frozenset({"poll_connection", "poll_shop", "reconcile_stock", "poll_returns"})


class InlineQueue:
    def __init__(self) -> None:
        self._ctx: SyncContext | None = None
        self._pending: deque = deque()
        self.deferred = 0

    def bind(self, ctx: SyncContext) -> None:
        self._ctx = ctx

    def _add(self, name: str, arg, delay: float = 0) -> None:
        if delay and delay > 0:
            if name in POLLS:
                # The heartbeat claimed this poll's slot already (its next time is past it): left
                # to the next run it would be skipped for a whole interval. This run cannot wait,
                # so it polls now, and once: a second slot of the same poll adds nothing.
                if (name, arg) not in self._pending:
                    self._pending.append((name, arg))
                return
            self.deferred += 1   # the next run's dispatch finds it
            return
        self._pending.append((name, arg))

    def backlog(self) -> int:
        return len(self._pending)

    def poll_connection(self, connection_id: int, delay: float = 0) -> None:
        self._add("poll_connection", connection_id, delay)

    def poll_shop(self, shop_id: int, delay: float = 0) -> None:
        self._add("poll_shop", shop_id, delay)

    def import_order(self, connection_id: int, external_id: str) -> None:
        self._add("import_order", (connection_id, external_id))

    def create_in_shop(self, order_id: int, delay: float = 0) -> None:
        self._add("create_in_shop", order_id, delay)

    def push_shipment(self, shipment_id: int, delay: float = 0) -> None:
        self._add("push_shipment", shipment_id, delay)

    def follow_shipment(self, shipment_id: int, delay: float = 0) -> None:
        self._add("follow_shipment", shipment_id, delay)

    def process_delivery(self, delivery_id: int, delay: float = 0) -> None:
        self._add("process_delivery", delivery_id, delay)

    def grace_sweep(self) -> None:
        self._add("grace_sweep", None)

    def push_stock(self, connection_id: int, delay: float = 0) -> None:
        self._add("push_stock", connection_id, delay)

    def reconcile_stock(self, connection_id: int, delay: float = 0) -> None:
        self._add("reconcile_stock", connection_id, delay)

    def push_cancellation(self, cancellation_id: int, delay: float = 0) -> None:
        self._add("push_cancellation", cancellation_id, delay)

    def poll_returns(self, connection_id: int, delay: float = 0) -> None:
        self._add("poll_returns", connection_id, delay)

    def push_return(self, return_id: int, delay: float = 0) -> None:
        self._add("push_return", return_id, delay)

    def drain(self) -> dict[str, int]:
        from plugin.sync.cancellations import push_cancellation
        from plugin.sync.create_in_shop import create_in_shop
        from plugin.sync.grace_sweep import grace_sweep
        from plugin.sync.import_orders import import_order, import_orders
        from plugin.sync.poll_shop import poll_shop
        from plugin.sync.process_delivery import process_delivery
        from plugin.sync.push_shipment import follow_shipment, push_shipment
        from plugin.sync.reconcile_stock import reconcile_stock
        from plugin.sync.returns import poll_returns, push_return
        from plugin.sync.sync_stock import push_stock
        handlers = {
            "poll_connection": lambda arg: import_orders(self._ctx, arg),
            "poll_shop": lambda arg: poll_shop(self._ctx, arg),
            "import_order": lambda arg: import_order(self._ctx, *arg),
            "create_in_shop": lambda arg: create_in_shop(self._ctx, arg),
            "push_shipment": lambda arg: push_shipment(self._ctx, arg),
            "follow_shipment": lambda arg: follow_shipment(self._ctx, arg),
            "process_delivery": lambda arg: process_delivery(self._ctx, arg),
            "grace_sweep": lambda arg: grace_sweep(self._ctx),
            "push_stock": lambda arg: push_stock(self._ctx, arg),
            "reconcile_stock": lambda arg: reconcile_stock(self._ctx, arg),
            "push_cancellation": lambda arg: push_cancellation(self._ctx, arg),
            "poll_returns": lambda arg: poll_returns(self._ctx, arg),
            "push_return": lambda arg: push_return(self._ctx, arg),
        }
        counts: dict[str, int] = {}
        while self._pending:
            name, arg = self._pending.popleft()
            try:
                handlers[name](arg)
                counts[name] = counts.get(name, 0) + 1
            except AdapterError:
                counts["errors"] = counts.get("errors", 0) + 1
        return counts


def run_once(ctx: SyncContext) -> dict[str, int]:
    from sqlalchemy import update

    from plugin.store import models
    from plugin.sync.dispatch import dispatch
    with ctx.db.session() as s:   # everything is due now
        s.execute(update(models.Connection).values(next_poll_at=None))
        s.execute(update(models.Shop).values(next_poll_at=None))
        s.execute(update(models.Connection).values(stock_reconcile_at=None, returns_poll_at=None))
    dispatch(ctx, stale_after=0, tick_seconds=0)   # no next tick to claim ahead for: this run is all
    counts = ctx.queue.drain()
    counts["deferred"] = ctx.queue.deferred
    return counts
