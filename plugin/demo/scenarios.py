"""The demo's other moves, beyond orders shipped: a catalog whose stock orderbridge keeps on bol.com,
buyers who cancel on bol.com, a merchant who cancels in the shop, a buyer who returns an item and
the merchant who refunds it, and a merchant who corrects the stock of a couple of products.

Everything goes through the sandboxes' control endpoints (never faulted), as a buyer on bol.com
or a person in wp-admin would; orderbridge only sees what it sees in production."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

from adapters.woocommerce.mapping import our_line_ids

PRODUCTS = ("Espresso cup", "Tea towel", "Bread knife", "Salad bowl", "Pepper mill", "Oven glove",
            "Cutting board", "Water carafe", "Butter dish", "Egg timer")
REPOLL = 3.0     # how often the demo asks for another look while a scenario waits for orderbridge


def ean(n: int) -> str:
    return f"87{n + 1:011d}"


def catalog(bol: httpx.Client, shop: httpx.Client, seller: str, count: int, stock: int) -> list[dict]:
    """`count` products with SKU, GTIN and managed stock in the shop, and their offers on bol.com
    (reference = SKU) with a wrong stock of 0: the first reconcile corrects them."""
    specs = [{"name": PRODUCTS[i % len(PRODUCTS)], "sku": f"DEMO-{i + 1:02d}", "global_unique_id": ean(i),
              "regular_price": f"{9.95 + 5 * i:.2f}", "manage_stock": True, "stock_quantity": stock}
             for i in range(count)]
    created = _ok(shop.post("/_sandbox/products", json=specs)).json()
    _ok(bol.post("/_sandbox/offers", json={"client_id": seller, "offers": [
        {"ean": p["global_unique_id"], "reference": p["sku"], "title": p["name"], "stock": 0} for p in specs]}))
    return created


@dataclass
class Scenarios:
    """Chosen up front among the seeded orders; `step` is called from the demo's loop."""
    bol: httpx.Client
    shop: httpx.Client
    seller: str
    shop_keys: tuple[str, str]
    item_ids: dict[str, list[str]]                 # bol order id -> its order item ids
    products: list[dict]                           # the shop's catalog
    recheck_order: Callable[[str], None]           # the poll's re-read of one known order, now
    poll_returns: Callable[[], None]               # the connection's returns poll, now
    buyer_cancel: list[str] = field(default_factory=list)
    shop_cancel: list[str] = field(default_factory=list)
    # what was done, and when (time.monotonic())
    requested: dict[str, float] = field(default_factory=dict)
    cancelled_in_shop: dict[str, float] = field(default_factory=dict)
    returned: str | None = None                    # the bol order a buyer returned an item of
    returned_item: str | None = None
    rma_id: str | None = None
    return_shop_order: int | None = None
    return_noted: int = 0                          # the shop's notes about the return
    refunded: bool = False
    stock_edits: list[tuple[int, int, int]] = field(default_factory=list)   # (product id, from, to)
    errors: list[str] = field(default_factory=list)
    _last_recheck: dict[str, float] = field(default_factory=dict)
    _last_returns_poll: float = 0.0

    @classmethod
    def choose(cls, seeded: list[str], seed: int, cancels: int, **kwargs) -> Scenarios:
        rng = random.Random(seed)
        picked = rng.sample(sorted(seeded), min(len(seeded), 2 * cancels))
        return cls(buyer_cancel=picked[:cancels], shop_cancel=picked[cancels:], **kwargs)

    @property
    def skip(self) -> set[str]:
        """The orders the simulated merchant leaves alone (never completes)."""
        return set(self.buyer_cancel) | set(self.shop_cancel)

    @property
    def wants_return(self) -> bool:
        return bool(self.buyer_cancel)   # the full set of scenarios (a tiny run has none)

    @property
    def done(self) -> bool:
        return (len(self.requested) == len(self.buyer_cancel) and len(self.cancelled_in_shop) == len(self.shop_cancel)
                and (not self.wants_return or self.refunded) and (not self.products or len(self.stock_edits) >= 2))

    def step(self, snap) -> None:
        try:
            self._step(snap)
        except (httpx.HTTPError, RuntimeError) as exc:   # a slow sandbox, a refusal: again next tick
            self.errors.append(str(exc))

    def _step(self, snap) -> None:
        now = time.monotonic()
        in_shop = snap.shop_order_by_external
        # buyers cancel on bol.com once their order is in the shop. orderbridge's poll reads a known
        # open order again at most once a minute (the open-orders list it gets carries no request
        # flags yet): the demo has that re-read done now, and again while the shop has not seen it
        for ext in self.buyer_cancel:
            if ext in in_shop and ext not in self.requested:
                _ok(self.bol.post(f"/_sandbox/orders/{ext}/cancellation-request", json={}))
                self.requested[ext] = now
            if ext in self.requested and ext not in snap.cancelled_in_shop \
                    and now - self._last_recheck.get(ext, 0.0) >= REPOLL:
                self.recheck_order(ext)
                self._last_recheck[ext] = now
        # the merchant cancels in the shop (status cancelled): orderbridge cancels on bol.com
        for ext in self.shop_cancel:
            if ext in in_shop and ext not in self.cancelled_in_shop:
                _ok(self.shop.post(f"/_sandbox/orders/{in_shop[ext]}/status", json={"status": "cancelled"}))
                self.cancelled_in_shop[ext] = now
        self._return(snap, now)
        # the merchant counts two products again and corrects their stock in wp-admin
        if self.products and not self.stock_edits and snap.created_in_shop == snap.seeded:
            stock = {p["id"]: p["stock_quantity"] for p in _ok(self.shop.get("/_sandbox/products")).json()}
            for product, delta in zip(self.products[:2], (+7, -4), strict=False):
                old = stock[product["id"]]
                new = max(1, old + delta)
                _ok(self.shop.post(f"/_sandbox/products/{product['id']}/stock", json={"stock_quantity": new}))
                self.stock_edits.append((product["id"], old, new))

    def _return(self, snap, now: float) -> None:
        if not self.wants_return:
            return
        if self.returned is None:
            # the first order shipped to its buyer comes back: one unit of its first item that
            # left (an order shipped in two parcels may have only its first one on the way)
            shipped = [ext for ext in snap.shipped_externals if ext not in self.skip and ext in self.item_ids
                       and snap.shipped_items.get(ext)]
            if not shipped:
                return
            ext = shipped[0]
            item = next((i for i in self.item_ids[ext] if i in snap.shipped_items[ext]), None)
            if item is None:
                return
            answer = _ok(self.bol.post("/_sandbox/returns", json={"client_id": self.seller, "items": [
                {"order_item_id": item, "quantity": 1, "main_reason": "Product defect",
                 "comments": "the handle came off"}]})).json()
            self.returned, self.returned_item, self.rma_id = ext, item, answer["rma_ids"][0]
            self.return_shop_order = snap.shop_order_by_external[ext]
        if self.refunded:
            return
        if not self.notes_about_return():
            # returns are polled hourly by default: the demo asks for the connection's poll now
            if now - self._last_returns_poll >= REPOLL:
                self.poll_returns()
                self._last_returns_poll = now
            return
        # orderbridge told the shop: the merchant refunds that unit in wp-admin (and restocks it)
        order = next(o for o in _ok(self.shop.get("/_sandbox/orders")).json() if o["id"] == self.return_shop_order)
        ours = our_line_ids(order)
        line = next(li for li in order["line_items"] if ours.get(li["id"]) == self.returned_item)
        amount = str((Decimal(str(line["total"])) / line["quantity"]).quantize(Decimal("0.01")))
        _ok(self.shop.post(f"/_sandbox/orders/{self.return_shop_order}/refund", json={
            "amount": amount, "reason": "returned item received", "restock_items": True,
            "line_items": [{"id": line["id"], "quantity": 1, "refund_total": amount}]}))
        self.refunded = True

    def notes_about_return(self, timeout: float = 2.0) -> int:
        """The shop's order notes that tell of the return (read through the REST API, which the
        sandbox may be slowing down: the last count stands when it does)."""
        if self.return_shop_order is None or self.rma_id is None:
            return 0
        try:
            response = self.shop.get(f"/wp-json/wc/v3/orders/{self.return_shop_order}/notes",
                                     auth=self.shop_keys, timeout=timeout)
            response.raise_for_status()
        except httpx.HTTPError:
            return self.return_noted
        self.return_noted = sum(1 for n in response.json() if f"return {self.rma_id}" in (n.get("note") or ""))
        return self.return_noted


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise RuntimeError(f"sandbox said {response.status_code} to {response.request.url.path}: {response.text[:200]}")
    return response
