"""The sandbox shop's "merchant": it finds the orders orderbridge created and completes them
through the shop, the way a person in WooCommerce's admin would. Some get T&T at once, some
later, some never (those are shipped without T&T once the grace period is over). A few orders of
two lines or more are shipped in two parcels ("partial"): first a tracking entry that names one line
(Advanced Shipment Tracking's `products_list`, its own T&T), a moment later the order completed
with a second T&T for the rest. The orders in `skip` (bol.com order ids) are left alone: the
demo's scenarios cancel them instead."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

from adapters.woocommerce.mapping import our_line_ids

PROVIDERS = (("PostNL", "3S{:013d}"), ("DHL", "JVGL{:010d}"))


PARTIAL_FIRST = 2               # the first orders of two lines or more shipped in two parcels
PARTIAL_RATE = 0.3              # and then this share of them


@dataclass
class Plan:
    fate: str                    # "now" | "later" | "never" | "partial"
    provider: str | None = None
    number: str | None = None    # "partial": the T&T of the rest, given with the completion
    act_at: float = 0.0          # when to complete
    tracking_at: float = 0.0     # when to add T&T ("later")
    completed: bool = False
    tracked: bool = False
    shipped_signal_at: float | None = None   # when the change that should ship it was made
    # "partial": the line shipped first with its own T&T (shop line item id, bol order item id,
    # quantity), the other lines' bol order item ids (shipped on completion), and when
    part_item: int | None = None
    part_line: str | None = None
    part_quantity: int = 0
    part_provider: str | None = None
    part_number: str | None = None
    part_at: float = 0.0
    part_tracked: bool = False
    part_signal_at: float | None = None
    rest_lines: tuple[str, ...] = ()

    @property
    def shipments(self) -> int:
        """How many shipments bol.com must accept for this order."""
        return 2 if self.fate == "partial" else 1


@dataclass
class Merchant:
    shop_url: str
    seed: int = 7
    pace: float = 0.0
    grace: float = 15.0
    skip: set[str] = field(default_factory=set)
    plans: dict[int, Plan] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._stop = threading.Event()
        self._http = httpx.Client(base_url=self.shop_url, timeout=10)
        self._thread = threading.Thread(target=self._loop, name="merchant", daemon=True)
        self._counter = 0
        self._partials = 0
        # "later" T&T arrives well within the grace period, so the demo shows that path
        self.later_range = (min(1.0, 0.2 * self.grace), min(6.0, 0.5 * self.grace))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def done(self) -> bool:
        return all(p.completed and (p.fate != "later" or p.tracked) for p in list(self.plans.values()))

    def _tracking(self) -> tuple[str, str]:
        provider, fmt = self._rng.choice(PROVIDERS)
        self._counter += 1
        return provider, fmt.format(self._rng.randrange(10 ** 9) * 1000 + self._counter)

    def _plan(self, order: dict) -> Plan:
        roll = self._rng.random()
        fate = "now" if roll < 0.5 else "later" if roll < 0.8 else "never"
        provider, number = self._tracking()
        now = time.monotonic()
        act_at = now + self.pace * len(self.plans)
        lines = _our_lines(order)
        if len(lines) >= 2 and (self._partials < PARTIAL_FIRST or self._rng.random() < PARTIAL_RATE):
            self._partials += 1
            (item_id, line_id, quantity), rest = lines[0], lines[1:]
            part_provider, part_number = self._tracking()
            return Plan(fate="partial", provider=provider, number=number, part_at=act_at,
                        act_at=act_at + self._rng.uniform(*self.later_range),
                        part_item=item_id, part_line=line_id, part_quantity=quantity,
                        part_provider=part_provider, part_number=part_number,
                        rest_lines=tuple(line for _, line, _ in rest))
        return Plan(fate=fate, provider=provider if fate != "never" else None,
                    number=number if fate != "never" else None, act_at=act_at,
                    tracking_at=act_at + self._rng.uniform(*self.later_range))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except httpx.HTTPError as exc:   # the sandbox may be injecting faults: try again
                self.errors.append(str(exc))
            self._stop.wait(0.2)

    def _tick(self) -> None:
        response = self._http.get("/_sandbox/orders")
        response.raise_for_status()
        for order in response.json():
            meta = {m.get("key"): m.get("value") for m in order.get("meta_data", [])}
            ours = "_orderbridge_ref" in meta and meta.get("_orderbridge_external_id") not in self.skip
            if ours and order["id"] not in self.plans:
                self.plans[order["id"]] = self._plan(order)
        now = time.monotonic()
        for order_id, plan in list(self.plans.items()):
            if plan.fate == "partial" and not plan.part_tracked:
                if now >= plan.part_at:   # one parcel leaves: a tracking entry of that line only
                    self._post(f"/_sandbox/orders/{order_id}/tracking", {
                        "tracking_provider": plan.part_provider, "tracking_number": plan.part_number,
                        "products_list": [{"item_id": plan.part_item, "qty": plan.part_quantity}]})
                    plan.part_tracked = True
                    plan.part_signal_at = time.time()
                continue
            if not plan.completed and now >= plan.act_at:
                with_tracking = plan.fate in ("now", "partial")
                body = {"tracking_provider": plan.provider, "tracking_number": plan.number} if with_tracking else {}
                self._post(f"/_sandbox/orders/{order_id}/complete", body)
                plan.completed = True
                if with_tracking:
                    plan.shipped_signal_at = time.time()
            elif plan.completed and plan.fate == "later" and not plan.tracked and now >= plan.tracking_at:
                self._post(f"/_sandbox/orders/{order_id}/tracking",
                           {"tracking_provider": plan.provider, "tracking_number": plan.number})
                plan.tracked = True
                plan.shipped_signal_at = time.time()

    def _post(self, path: str, body: dict) -> None:
        response = self._http.post(path, json=body)
        response.raise_for_status()


def _our_lines(order: dict) -> list[tuple[int, str, int]]:
    """The shop order's lines orderbridge created from bol.com's items: (line item id, bol order
    item id, quantity)."""
    ours = our_line_ids(order)     # kept in hidden order meta, as orderbridge reads them back
    return [(line["id"], ours[line["id"]], int(line.get("quantity") or 1))
            for line in order.get("line_items", []) if line.get("id") in ours]
