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
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from sandbox.bol import generator
from sandbox.bol.constants import CANCELLATION_EVENT_TYPE, RETURN_EVENT_TYPE, SHIPMENT_EVENT_TYPE
from sandbox.bol.faults import Faults
from sandbox.bol.processing import settle_cancellation, settle_return, settle_shipment
from sandbox.bol.ratelimit import TokenBucket
from sandbox.bol.records import (
    Offer,
    Order,
    OrderItem,
    Process,
    Return,
    ReturnItem,
    ShipmentReceived,
    StockUpdateReceived,
    WriteReceived,
)

SETTLERS = {
    SHIPMENT_EVENT_TYPE: settle_shipment,
    CANCELLATION_EVENT_TYPE: settle_cancellation,
    RETURN_EVENT_TYPE: settle_return,
}


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
        self.cancellations_received: list[WriteReceived] = []
        self.offers: dict[str, Offer] = {}                  # by offer id, in creation order
        self.stock_updates_received: list[StockUpdateReceived] = []
        self.returns: dict[str, Return] = {}                # by return id, in registration order
        self.return_items: dict[str, tuple[str, ReturnItem]] = {}    # rma id -> (return id, item)
        self.return_handlings_received: list[WriteReceived] = []
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        # Per rate group (constants.RATE_GROUPS) overrides of (rate_per_second, rate_burst).
        self.group_rates: dict[str, tuple[float, int]] = {}

        self._item_ids = itertools.count(2012345678)
        self._process_ids = itertools.count(1000001)
        self._shipment_ids = itertools.count(870000001)
        self._return_ids = itertools.count(15000001)
        self._rma_ids = itertools.count(31000001)

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
            rate, burst = self.group_rates.get(group, (self.rate_per_second, self.rate_burst))
            bucket = self.buckets.get((seller, group))
            if bucket is None or bucket.rate != rate or bucket.burst != burst:
                bucket = self.buckets[(seller, group)] = TokenBucket(rate, burst, now)
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
                          items_per_order: int | None = None, from_offers: bool = False,
                          lines: list[dict] | None = None) -> list[Order]:
        """Random orders. `from_offers`: every item is one of the seller's offers (its EAN, title,
        offer id and reference), so stock and correctedStock follow. `lines`: one order of exactly
        these items, each {"offer_id" or "ean": an offer of the seller, "quantity": n >= 1}
        (ValueError when an offer is unknown). The order is placed now, after any stock update so
        far, so a managed-by-retailer offer's correctedStock counts it."""
        with self.lock:
            if client_id not in self.sellers:
                raise KeyError(client_id)
            chosen: list[list[tuple[Offer, int | None]]] = []
            if lines is not None:
                chosen = [[(self._offer_for_line(client_id, line), line.get("quantity", 1)) for line in lines]]
                count, items_per_order = 1, len(lines)
            elif from_offers:
                mine = [o for o in self.offers.values() if o.seller == client_id]
                if not mine:
                    raise ValueError(f"seller {client_id!r} has no offers")
            created = []
            for n in range(count):
                order = generator.random_order(
                    self.rng, seller=client_id, next_item_id=self.next_item_id,
                    fulfilment_method=fulfilment_method, items_per_order=items_per_order, now=self.now())
                while order.order_id in self.orders:   # astronomically rare, but ids must be unique
                    order.order_id = generator.order_id(self.rng)
                if lines is not None or from_offers:
                    picks = chosen[n] if lines is not None else [(self.rng.choice(mine), None) for _ in order.items]
                    self._fill_from_offers(order, picks)
                self.add_order(order)
                created.append(order)
            return created

    def _offer_for_line(self, seller: str, line: dict) -> Offer:
        if not isinstance(line, dict):
            raise ValueError("every line must be an object")
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError("quantity must be an integer >= 1")
        if line.get("offer_id"):
            offer = self.offers.get(str(line["offer_id"]))
        else:
            offer = self.offer_for_ean(seller, str(line.get("ean") or ""))
        if offer is None or offer.seller != seller:
            raise ValueError(f"no offer of {seller!r} for {line!r}; POST /_sandbox/offers first")
        return offer

    def _fill_from_offers(self, order: Order, picks: list[tuple[Offer, int | None]]) -> None:
        # Ordered now (not at a random moment of the last day), so "placed after the last stock
        # update" means what it says.
        order.placed_at = self.now()
        for item, (offer, quantity) in zip(order.items, picks, strict=True):
            item.ean, item.title = offer.ean, offer.title
            item.offer_id, item.offer_reference = offer.offer_id, offer.reference
            item.unit_price = offer.unit_price
            if quantity is not None:
                item.quantity = quantity
            item.commission = generator.commission(item.unit_price, item.quantity)
            item.latest_changed = order.placed_at
            item.latest_delivery_date = (order.placed_at + timedelta(days=2)).date()

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
        entity_id = body["orderItems"][0]["orderItemId"]
        return self.start_process(seller, entity_id, SHIPMENT_EVENT_TYPE,
                                  f"Create shipment for order item {entity_id}.", body)

    def start_process(self, seller: str, entity_id: str, event_type: str, description: str,
                      payload: dict) -> Process:
        with self.lock:
            now = self.clock()
            process = Process(
                process_id=str(next(self._process_ids)),
                seller=seller,
                entity_id=entity_id,
                event_type=event_type,
                description=description,
                created_at=now,
                ready_at=now + self.process_delay,
                payload=payload,
            )
            self.processes[process.process_id] = process
            return process

    def settle(self) -> None:
        """Resolve every due PENDING process, oldest first (called on each read)."""
        with self.lock:
            now = self.clock()
            for process in self.processes.values():     # dicts keep creation order
                if process.status == "PENDING" and process.ready_at <= now:
                    settler = SETTLERS.get(process.event_type)
                    if settler is not None:
                        settler(self, process, self.now())

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

    # ------------------------------------------------------------------ offers (v11)
    def add_offer(self, seller: str, ean: str, *, reference: str | None = None, title: str | None = None,
                  stock: int = 0, managed_by_retailer: bool = True, unit_price: Decimal | None = None,
                  fulfilment_method: str = "FBR") -> Offer:
        """KeyError for an unknown seller; ValueError when the seller already offers this EAN (bol
        keeps one offer per EAN and condition, and the fake only has condition NEW)."""
        with self.lock:
            if seller not in self.sellers:
                raise KeyError(seller)
            if self.offer_for_ean(seller, ean) is not None:
                raise ValueError(f"seller {seller!r} already has an offer for EAN {ean}")
            now = self.now()
            offer = Offer(
                offer_id=generator.uuid4(self.rng), seller=seller, ean=ean,
                title=title or self.rng.choice(generator.PRODUCTS), reference=reference,
                unit_price=unit_price if unit_price is not None else generator.price(self.rng),
                stock_amount=stock, managed_by_retailer=managed_by_retailer,
                stock_updated_at=now, last_modified=now, fulfilment_method=fulfilment_method,
            )
            self.offers[offer.offer_id] = offer
            return offer

    def add_random_offers(self, seller: str, count: int) -> list[Offer]:
        with self.lock:
            created = []
            for _ in range(count):
                ean = generator.ean13(self.rng)
                while self.offer_for_ean(seller, ean) is not None:
                    ean = generator.ean13(self.rng)
                created.append(self.add_offer(seller, ean, reference=f"SKU-{self.rng.randint(1000, 99999)}",
                                              stock=self.rng.randint(0, 50)))
            return created

    def offer_for_ean(self, seller: str, ean: str) -> Offer | None:
        with self.lock:
            return next((o for o in self.offers.values() if o.seller == seller and o.ean == ean), None)

    def offers_of(self, seller: str) -> list[Offer]:
        with self.lock:
            return [o for o in self.offers.values() if o.seller == seller]

    def get_offer(self, seller: str, offer_id: str) -> Offer | None:
        with self.lock:
            offer = self.offers.get(offer_id)
            return offer if offer is not None and offer.seller == seller else None

    def corrected_stock(self, offer: Offer) -> int:
        """offers-v11.json, Stock.correctedStock: the stock after open orders. managedByRetailer
        true: only open orders placed after the last offer update count; false: all open orders.
        Never below 0 (at 0 the offer is no longer for sale)."""
        return self.corrected_stocks([offer])[offer.offer_id]

    def corrected_stocks(self, offers: list[Offer]) -> dict[str, int]:
        """corrected_stock of many offers in one pass over the orders (offer id -> value)."""
        with self.lock:
            self.settle()
            wanted = {o.offer_id: o for o in offers}
            reserved = dict.fromkeys(wanted, 0)
            for order in self.orders.values():
                for item in order.items:
                    offer = wanted.get(item.offer_id)
                    if offer is None or order.seller != offer.seller or item.fulfilment_method != "FBR":
                        continue
                    if offer.managed_by_retailer and order.placed_at <= offer.stock_updated_at:
                        continue
                    reserved[offer.offer_id] += item.open_quantity
            return {oid: max(0, o.stock_amount - reserved[oid]) for oid, o in wanted.items()}

    def record_stock_update(self, record: StockUpdateReceived) -> None:
        with self.lock:
            self.stock_updates_received.append(record)

    # ------------------------------------------------------------------ buyer cancellation requests
    def request_cancellation(self, order_id: str, item_ids: list[str] | None = None) -> list[OrderItem]:
        """The buyer asks to cancel these items (all open items when None). KeyError for an unknown
        order or an item not in it; ValueError for an item with nothing left to cancel (bol only
        takes requests before the retailer ships)."""
        with self.lock:
            self.settle()
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            by_id = {i.order_item_id: i for i in order.items}
            if item_ids is None:
                items = [i for i in order.items if i.open_quantity > 0]
            else:
                missing = [i for i in item_ids if i not in by_id]
                if missing:
                    raise KeyError(missing[0])
                items = [by_id[i] for i in item_ids]
            closed = [i.order_item_id for i in items if i.open_quantity <= 0]
            if closed or not items:
                raise ValueError(f"nothing left to cancel for order item(s) {', '.join(closed) or '(none open)'}")
            now = self.now()
            for item in items:
                item.cancellation_request = True
                item.latest_changed = now
            return items

    def record_cancellation(self, record: WriteReceived) -> None:
        with self.lock:
            self.cancellations_received.append(record)

    def cancellation_log(self) -> list[dict]:
        return self._write_log(self.cancellations_received, "order_item_id")

    def _write_log(self, records: list[WriteReceived], subject: str) -> list[dict]:
        with self.lock:
            self.settle()
            log = []
            for r in records:
                process = self.processes.get(r.process_id) if r.process_id else None
                log.append({
                    "seller": r.seller,
                    "received_at": r.received_at,
                    "http_status": r.http_status,
                    "body": r.body,
                    subject: r.subject,
                    "process_status_id": r.process_id,
                    "status": process.status if process else None,
                    "error_message": process.error_message if process else None,
                })
            return log

    # ------------------------------------------------------------------ returns
    def register_return(self, seller: str, lines: list[dict]) -> Return:
        """A buyer's return of shipped order items: lines [{order_item_id, quantity=1, main_reason,
        detailed_reason, comments}]. KeyError for an unknown seller or an item not of this seller;
        ValueError when more would come back than was shipped (and not already returned)."""
        with self.lock:
            if seller not in self.sellers:
                raise KeyError(seller)
            self.settle()
            if not lines:
                raise ValueError("a return needs at least one item")
            items, methods = [], set()
            for line in lines:
                found = self.find_item(str(line.get("order_item_id")))
                if found is None or found[0].seller != seller:
                    raise KeyError(str(line.get("order_item_id")))
                order, item = found
                quantity = line.get("quantity", 1)
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    raise ValueError("quantity must be an integer >= 1")
                returned = sum(ri.expected_quantity for _, ri in self.return_items.values()
                               if ri.order_item_id == item.order_item_id)
                if quantity > item.quantity_shipped - returned:
                    raise ValueError(f"order item {item.order_item_id}: {item.quantity_shipped} shipped, "
                                     f"{returned} already returned, cannot return {quantity} more")
                main, detailed = self.rng.choice(generator.RETURN_REASONS)
                details = order.shipment_details
                items.append(ReturnItem(
                    rma_id=str(next(self._rma_ids)), order_id=order.order_id, order_item_id=item.order_item_id,
                    ean=item.ean, title=item.title, expected_quantity=quantity,
                    main_reason=str(line.get("main_reason") or main),
                    detailed_reason=line.get("detailed_reason") if "main_reason" in line else detailed,
                    customer_comments=str(line.get("comments") or ""),
                    customer_details={k: details.get(k) for k in (
                        "salutation", "firstName", "surname", "streetName", "houseNumber", "houseNumberExtension",
                        "extraAddressInformation", "zipCode", "city", "countryCode", "email", "company")},
                    track_and_trace=line.get("track_and_trace"),
                    transporter_name=line.get("transporter_name"),
                ))
                methods.add(item.fulfilment_method)
            record = Return(return_id=str(next(self._return_ids)), seller=seller, registered_at=self.now(),
                            fulfilment_method="FBB" if methods == {"FBB"} else "FBR", items=items)
            self.returns[record.return_id] = record
            for item in items:
                self.return_items[item.rma_id] = (record.return_id, item)
            return record

    def returns_of(self, seller: str) -> list[Return]:
        with self.lock:
            self.settle()
            return [r for r in self.returns.values() if r.seller == seller]

    def get_return(self, seller: str, return_id: str) -> Return | None:
        with self.lock:
            self.settle()
            record = self.returns.get(return_id)
            return record if record is not None and record.seller == seller else None

    def find_return_item(self, rma_id: str) -> tuple[Return, ReturnItem] | None:
        with self.lock:
            found = self.return_items.get(rma_id)
            return (self.returns[found[0]], found[1]) if found else None

    def record_return_handling(self, record: WriteReceived) -> None:
        with self.lock:
            self.return_handlings_received.append(record)

    def return_handling_log(self) -> list[dict]:
        return self._write_log(self.return_handlings_received, "rma_id")
