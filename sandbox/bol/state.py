"""All of the fake bol's memory, behind one lock.

Flask serves requests on several threads (and tests read the state from yet another), so every
read or write of the collections below happens under `state.lock`. Methods take the lock
themselves; callers that need several steps to be atomic wrap them in `with state.lock:` too
(it is re-entrant).
"""

from __future__ import annotations

import hmac
import itertools
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from sandbox.bol import generator
from sandbox.bol.constants import SHIPMENT_EVENT_TYPE
from sandbox.bol.faults import Faults
from sandbox.bol.processing import settle_shipment
from sandbox.bol.ratelimit import TokenBucket
from sandbox.bol.records import Order, OrderItem, Process, ShipmentReceived


def _amsterdam() -> tzinfo:
    # bol timestamps carry the Dutch offset (+01:00/+02:00); fall back to UTC where the system
    # has no time-zone database.
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo("Europe/Amsterdam")
    except Exception:  # pragma: no cover - depends on the host
        return UTC


BOL_TZ = _amsterdam()


@dataclass
class Token:
    seller: str
    expires_at: float


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)      # "GET /retailer/orders" -> n
    statuses: Counter = field(default_factory=Counter)      # 200 -> n
    rate_limited: int = 0                                   # 429s answered (bucket or forced)
    injected_errors: int = 0                                # 500/503 from error_rate
    injected_timeouts: int = 0                              # calls slowed by timeout_rate
    lost_answers: int = 0                                   # fail_after_commit_next 500s
    unauthorized: int = 0
    tokens_issued: int = 0

    def to_dict(self) -> dict:
        return {
            "requests": dict(self.requests),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "rate_limited": self.rate_limited,
            "injected_5xx": self.injected_errors,
            "injected_timeouts": self.injected_timeouts,
            "lost_answers": self.lost_answers,
            "unauthorized": self.unauthorized,
            "tokens_issued": self.tokens_issued,
        }


class BolState:
    def __init__(self, *, seed: int = 0, token_expires_in: int = 299, process_delay: float = 0.5,
                 rate_per_second: float = 25.0, rate_burst: int = 50, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time):
        self.lock = threading.RLock()
        self.seed = seed
        # Separate streams: changing fault settings must not change which orders get generated.
        self.rng = random.Random(seed)
        self.fault_rng = random.Random(seed + 1)
        self.clock = clock
        self.token_expires_in = token_expires_in
        self.process_delay = process_delay
        self.rate_per_second = rate_per_second
        self.rate_burst = rate_burst
        self.faults = faults or Faults()
        self.stats = Stats()

        self.sellers: dict[str, str] = {}                   # client_id -> client_secret
        self.tokens: dict[str, Token] = {}
        self.orders: dict[str, Order] = {}
        self.items: dict[str, str] = {}                     # order item id -> order id
        self.processes: dict[str, Process] = {}
        self.shipments: dict[str, dict] = {}                # applied shipments by shipment id
        self.shipments_received: list[ShipmentReceived] = []
        self.buckets: dict[tuple[str, str], TokenBucket] = {}

        self._item_ids = itertools.count(2012345678)
        self._process_ids = itertools.count(1000001)
        self._shipment_ids = itertools.count(870000001)

    # ------------------------------------------------------------------ time
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), BOL_TZ)

    def iso(self, epoch: float) -> str:
        return datetime.fromtimestamp(epoch, BOL_TZ).isoformat(timespec="seconds")

    # ------------------------------------------------------------------ sellers and tokens
    def add_seller(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.sellers[client_id] = client_secret

    def authenticate(self, client_id: str, client_secret: str) -> bool:
        with self.lock:
            known = self.sellers.get(client_id)
        return known is not None and hmac.compare_digest(known.encode(), client_secret.encode())

    def issue_token(self, client_id: str) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(client_id, self.clock() + self.token_expires_in)
            self.stats.tokens_issued += 1
            return token, self.token_expires_in

    def seller_for_token(self, token: str) -> str | None:
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None:
                return None
            if entry.expires_at <= self.clock():
                del self.tokens[token]
                return None
            return entry.seller

    def expire_tokens(self) -> int:
        """Make every issued token invalid now (to exercise a client's refresh-on-401)."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # ------------------------------------------------------------------ rate limiting
    def take_rate_token(self, seller: str, group: str) -> int:
        """0 when the call may proceed, else the Retry-After seconds."""
        with self.lock:
            now = time.monotonic()
            bucket = self.buckets.get((seller, group))
            if bucket is None or bucket.rate != self.rate_per_second or bucket.burst != self.rate_burst:
                bucket = self.buckets[(seller, group)] = TokenBucket(self.rate_per_second, self.rate_burst, now)
            return bucket.take(now)

    def configure_faults(self, **changes) -> dict:
        """Partial, all-or-nothing update of the fault settings (ValueError on a bad one)."""
        with self.lock:
            self.faults.update(changes)
            return self.faults.to_dict()

    def draw_fault(self) -> float:
        with self.lock:
            return self.fault_rng.random()

    # ------------------------------------------------------------------ orders
    def add_random_orders(self, client_id: str, count: int, *, fulfilment_method: str = "FBR",
                          items_per_order: int | None = None) -> list[Order]:
        with self.lock:
            if client_id not in self.sellers:
                raise KeyError(client_id)
            created = []
            for _ in range(count):
                order = generator.random_order(
                    self.rng, seller=client_id, next_item_id=self.next_item_id,
                    fulfilment_method=fulfilment_method, items_per_order=items_per_order, now=self.now())
                while order.order_id in self.orders:   # astronomically rare, but ids must be unique
                    order.order_id = generator.order_id(self.rng)
                self.add_order(order)
                created.append(order)
            return created

    def add_order(self, order: Order) -> None:
        with self.lock:
            self.orders[order.order_id] = order
            for item in order.items:
                self.items[item.order_item_id] = order.order_id

    def next_item_id(self) -> str:
        return str(next(self._item_ids))

    def next_shipment_id(self) -> str:
        return str(next(self._shipment_ids))

    def orders_for(self, seller: str) -> list[Order]:
        with self.lock:
            self.settle()
            return sorted((o for o in self.orders.values() if o.seller == seller),
                          key=lambda o: (o.placed_at, o.order_id))

    def get_order(self, seller: str, order_id: str) -> Order | None:
        with self.lock:
            self.settle()
            order = self.orders.get(order_id)
            return order if order is not None and order.seller == seller else None

    def find_item(self, item_id: str) -> tuple[Order, OrderItem] | None:
        with self.lock:
            order_id = self.items.get(item_id)
            if order_id is None:
                return None
            order = self.orders[order_id]
            item = next(i for i in order.items if i.order_item_id == item_id)
            return order, item

    # ------------------------------------------------------------------ processes
    def start_shipment(self, seller: str, body: dict) -> Process:
        with self.lock:
            now = self.clock()
            entity_id = body["orderItems"][0]["orderItemId"]
            process = Process(
                process_id=str(next(self._process_ids)),
                seller=seller,
                entity_id=entity_id,
                event_type=SHIPMENT_EVENT_TYPE,
                description=f"Create shipment for order item {entity_id}.",
                created_at=now,
                ready_at=now + self.process_delay,
                payload=body,
            )
            self.processes[process.process_id] = process
            return process

    def settle(self) -> None:
        """Resolve every due PENDING process, oldest first (called on each read)."""
        with self.lock:
            now = self.clock()
            for process in self.processes.values():     # dicts keep creation order
                if process.status == "PENDING" and process.ready_at <= now:
                    if process.event_type == SHIPMENT_EVENT_TYPE:
                        settle_shipment(self, process, self.now())

    def get_process(self, seller: str, process_id: str) -> Process | None:
        with self.lock:
            self.settle()
            process = self.processes.get(process_id)
            return process if process is not None and process.seller == seller else None

    def processes_for(self, seller: str, entity_id: str, event_type: str) -> list[Process]:
        """Newest first, as bol documents for GET /shared/process-status."""
        with self.lock:
            self.settle()
            found = [p for p in self.processes.values()
                     if p.seller == seller and p.entity_id == entity_id and p.event_type == event_type]
            return sorted(found, key=lambda p: (p.created_at, int(p.process_id)), reverse=True)

    # ------------------------------------------------------------------ shipments received
    def _order_of(self, body: object) -> str | None:
        """The order a shipment body is about (its first known item's order), for test lookups."""
        if not isinstance(body, dict) or not isinstance(body.get("orderItems"), list):
            return None
        for entry in body["orderItems"]:
            found = self.find_item(entry.get("orderItemId")) if isinstance(entry, dict) else None
            if found:
                return found[0].order_id
        return None

    def record_shipment(self, seller: str, body: object, received_at: float, http_status: int,
                        process_id: str | None = None) -> ShipmentReceived:
        with self.lock:
            record = ShipmentReceived(seller, body, received_at, http_status, process_id)
            self.shipments_received.append(record)
            return record

    def shipment_log(self) -> list[dict]:
        """Every received shipment request with its current process status (for tests and
        GET /_sandbox/shipments)."""
        with self.lock:
            self.settle()
            log = []
            for r in self.shipments_received:
                process = self.processes.get(r.process_id) if r.process_id else None
                log.append({
                    "seller": r.seller,
                    "received_at": r.received_at,
                    "http_status": r.http_status,
                    "body": r.body,
                    "order_id": self._order_of(r.body),
                    "process_status_id": r.process_id,
                    # None for a request refused with 400 (no process was started)
                    "status": process.status if process else None,
                    "error_message": process.error_message if process else None,
                })
            return log
