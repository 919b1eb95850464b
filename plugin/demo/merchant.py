"""The sandbox shop's "merchant": it finds the orders orderbridge created and completes them
through the shop, the way a person in WooCommerce's admin would. Some get T&T at once, some
later, some never (those are shipped without T&T once the grace period is over). The orders in
`skip` (bol.com order ids) are left alone: the demo's scenarios cancel them instead."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

PROVIDERS = (("PostNL", "3S{:013d}"), ("DHL", "JVGL{:010d}"))


@dataclass
class Plan:
    fate: str                    # "now" | "later" | "never"
    provider: str | None = None
    number: str | None = None
    act_at: float = 0.0          # when to complete
    tracking_at: float = 0.0     # when to add T&T ("later")
    completed: bool = False
    tracked: bool = False
    shipped_signal_at: float | None = None   # when the change that should ship it was made


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
        # "later" T&T arrives well within the grace period, so the demo shows that path
        self.later_range = (min(1.0, 0.2 * self.grace), min(6.0, 0.5 * self.grace))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def done(self) -> bool:
        return all(p.completed and (p.fate != "later" or p.tracked) for p in self.plans.values())

    def _plan(self) -> Plan:
        roll = self._rng.random()
        fate = "now" if roll < 0.5 else "later" if roll < 0.8 else "never"
        provider, fmt = self._rng.choice(PROVIDERS)
        self._counter += 1
        number = fmt.format(self._rng.randrange(10 ** 9) * 1000 + self._counter)
        now = time.monotonic()
        act_at = now + self.pace * len(self.plans)
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
                self.plans[order["id"]] = self._plan()
        now = time.monotonic()
        for order_id, plan in self.plans.items():
            if not plan.completed and now >= plan.act_at:
                body = {"tracking_provider": plan.provider, "tracking_number": plan.number} if plan.fate == "now" else {}
                self._post(f"/_sandbox/orders/{order_id}/complete", body)
                plan.completed = True
                if plan.fate == "now":
                    plan.shipped_signal_at = time.time()
            elif plan.completed and plan.fate == "later" and not plan.tracked and now >= plan.tracking_at:
                self._post(f"/_sandbox/orders/{order_id}/tracking",
                           {"tracking_provider": plan.provider, "tracking_number": plan.number})
                plan.tracked = True
                plan.shipped_signal_at = time.time()

    def _post(self, path: str, body: dict) -> None:
        response = self._http.post(path, json=body)
        response.raise_for_status()
