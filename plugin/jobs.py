"""Background jobs on Huey: SQLite storage by default (the embedded run), Redis when REDIS_URL
is set. Tasks are thin: each calls one use case with the process's SyncContext. A task that is
lost (process killed, queue flushed) is found again by the dispatcher's sweeps, because the
database rows, not the queue, are the record of open work."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from huey import Huey, PriorityRedisHuey, SqliteHuey, crontab

from adapters.errors import AdapterError
from plugin.config import Settings

log = logging.getLogger(__name__)


# Several deployments (or test runs) may share one Redis: each gets its own queue name.
HUEY_NAME = os.environ.get("ORDERBRIDGE_HUEY_NAME", "orderbridge")


def make_huey(settings: Settings, name: str | None = None) -> Huey:
    name = name or HUEY_NAME
    if settings.redis_url:
        # A priority queue (a sorted set), so shop-side changes jump an import burst's backlog;
        # blocking=True: a consumer waits on the pop, so a new job starts in milliseconds.
        return PriorityRedisHuey(name, url=settings.redis_url, blocking=True, read_timeout=1, results=False)
    Path(settings.huey_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.huey_path), timeout=30, results=False,
                      immediate=os.environ.get("ORDERBRIDGE_HUEY_IMMEDIATE") == "1")


huey = make_huey(Settings.from_env())

# Job priorities (higher runs first; the rest 0): what the merchant did in the shop reaches the
# marketplace in seconds even behind a burst of imports, polls and reconciles.
URGENT = 20      # a webhook to apply, a shipment or a cancellation to push
SOON = 10        # creating an order in the shop, following a process, stock and return pushes


def _ctx():
    from plugin.runtime import get_context
    return get_context()


@huey.task()
def poll_connection_task(connection_id: int):
    from plugin.sync.import_orders import import_orders
    try:
        return len(import_orders(_ctx(), connection_id).queued)
    except AdapterError as exc:   # recorded on the connection; the next poll tries again
        log.warning("poll of connection %s failed: %s", connection_id, exc)


IMPORT_ATTEMPTS = 8


@huey.task()
def import_order_task(connection_id: int, external_id: str, attempt: int = 1):
    from plugin.sync.import_orders import import_order
    from plugin.sync.retry import retry_delay, should_retry
    try:
        return import_order(_ctx(), connection_id, external_id)
    except AdapterError as exc:
        # Nothing is stored yet, so the queue is the only record: a throttled or failed detail
        # call comes back after Retry-After / backoff instead of waiting for the next poll.
        if should_retry(exc, attempt, IMPORT_ATTEMPTS):
            import_order_task.schedule(args=(connection_id, external_id, attempt + 1),
                                       delay=retry_delay(attempt, exc))
        else:   # the next poll lists the order again and queues it anew
            log.warning("import of %s (connection %s) failed: %s", external_id, connection_id, exc)


@huey.task()
def poll_shop_task(shop_id: int):
    from plugin.sync.poll_shop import poll_shop
    try:
        return poll_shop(_ctx(), shop_id)
    except AdapterError as exc:
        log.warning("poll of shop %s failed: %s", shop_id, exc)


@huey.task(priority=SOON)
def create_in_shop_task(order_id: int):
    from plugin.sync.create_in_shop import create_in_shop
    return create_in_shop(_ctx(), order_id)


@huey.task(priority=URGENT)
def push_shipment_task(shipment_id: int):
    from plugin.sync.push_shipment import push_shipment
    return push_shipment(_ctx(), shipment_id)


@huey.task(priority=SOON)
def follow_shipment_task(shipment_id: int):
    from plugin.sync.push_shipment import follow_shipment
    return follow_shipment(_ctx(), shipment_id)


@huey.task(priority=URGENT)
def process_delivery_task(delivery_id: int):
    from plugin.sync.process_delivery import process_delivery
    return process_delivery(_ctx(), delivery_id)


@huey.task(priority=SOON)
def push_stock_task(connection_id: int):
    from plugin.sync.sync_stock import push_stock
    return push_stock(_ctx(), connection_id)


@huey.task()
def reconcile_stock_task(connection_id: int):
    from plugin.sync.reconcile_stock import reconcile_stock
    try:
        return reconcile_stock(_ctx(), connection_id).__dict__
    except AdapterError as exc:   # recorded on the stream's cursor; the next reconcile tries again
        log.warning("stock reconcile of connection %s failed: %s", connection_id, exc)


@huey.task(priority=URGENT)
def push_cancellation_task(cancellation_id: int):
    from plugin.sync.cancellations import push_cancellation
    return push_cancellation(_ctx(), cancellation_id)


@huey.task()
def poll_returns_task(connection_id: int):
    from plugin.sync.returns import poll_returns
    try:
        return poll_returns(_ctx(), connection_id)
    except AdapterError as exc:   # recorded on the stream's cursor; the next poll tries again
        log.warning("returns poll of connection %s failed: %s", connection_id, exc)


@huey.task(priority=SOON)
def push_return_task(return_id: int):
    from plugin.sync.returns import push_return
    return push_return(_ctx(), return_id)


@huey.task(priority=SOON)
def grace_sweep_task():
    from plugin.sync.grace_sweep import grace_sweep
    return len(grace_sweep(_ctx()))


@huey.task(priority=SOON)
def dispatch_task():
    from plugin.sync.dispatch import dispatch
    return dispatch(_ctx()).__dict__


@huey.periodic_task(crontab(minute="*"))
def heartbeat():
    """Every minute (dispatch.HEARTBEAT_SECONDS): enqueue the polls due before the next minute,
    each to start at its due time; re-enqueue open work; run the grace sweep."""
    dispatch_task.call_local()


class HueyQueue:
    """The Enqueuer port on Huey."""

    def _send(self, task, arg, delay: float = 0) -> None:
        if delay and delay > 0:
            task.schedule(args=(arg,), delay=delay)
        else:
            task(arg)

    def backlog(self) -> int:
        """Jobs waiting to start (not the scheduled ones): what a lost-job sweep would queue behind."""
        try:
            return huey.pending_count()
        except Exception as exc:  # noqa: BLE001 - the storage is down: sweep as usual
            log.warning("queue length unknown: %s", exc)
            return 0

    def poll_connection(self, connection_id: int, delay: float = 0) -> None:
        self._send(poll_connection_task, connection_id, delay)

    def poll_shop(self, shop_id: int, delay: float = 0) -> None:
        self._send(poll_shop_task, shop_id, delay)

    def import_order(self, connection_id: int, external_id: str) -> None:
        import_order_task(connection_id, external_id)

    def create_in_shop(self, order_id: int, delay: float = 0) -> None:
        self._send(create_in_shop_task, order_id, delay)

    def push_shipment(self, shipment_id: int, delay: float = 0) -> None:
        self._send(push_shipment_task, shipment_id, delay)

    def follow_shipment(self, shipment_id: int, delay: float = 0) -> None:
        self._send(follow_shipment_task, shipment_id, delay)

    def process_delivery(self, delivery_id: int, delay: float = 0) -> None:
        self._send(process_delivery_task, delivery_id, delay)

    def grace_sweep(self) -> None:
        grace_sweep_task()

    # -- stock, cancellations, returns
    def push_stock(self, connection_id: int, delay: float = 0) -> None:
        self._send(push_stock_task, connection_id, delay)

    def reconcile_stock(self, connection_id: int, delay: float = 0) -> None:
        self._send(reconcile_stock_task, connection_id, delay)

    def push_cancellation(self, cancellation_id: int, delay: float = 0) -> None:
        self._send(push_cancellation_task, cancellation_id, delay)

    def poll_returns(self, connection_id: int, delay: float = 0) -> None:
        self._send(poll_returns_task, connection_id, delay)

    def push_return(self, return_id: int, delay: float = 0) -> None:
        self._send(push_return_task, return_id, delay)

    def dispatch(self) -> None:
        dispatch_task()


def make_consumer(workers: int = 4, *, fast: bool = True):
    """A consumer with threads; `fast` polls the SQLite queue often so a job waits milliseconds
    (Redis blocks on BRPOP and needs no polling)."""
    kwargs = dict(workers=workers, worker_type="thread", check_worker_health=True, periodic=True)
    if fast:
        kwargs.update(initial_delay=0.01, backoff=1.1, max_delay=0.2)
    return huey.create_consumer(**kwargs)
