"""Fixtures for the WooCommerce contract tests: the sandbox on a real loopback socket, the real
adapter pointed at it, and a tiny webhook receiver. Imported by the test module (kept out of
tests/conftest.py on purpose)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from adapters.woocommerce import WooCommerceShop
from sandbox.woocommerce import WooState, base_url, serve, stop

CONSUMER_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
CONSUMER_SECRET = "cs_76543210fedcba9876543210fedcba9876543210"


class FakeClock:
    """The shop's clock, moved by tests (OAuth timestamps still use the wall clock)."""

    def __init__(self, start: datetime | None = None):
        self.now = (start or datetime.now(UTC)).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Sandbox:
    state: WooState
    url: str
    clock: FakeClock

    def control(self, method: str, path: str, json: dict | None = None) -> requests.Response:
        response = requests.request(method, f"{self.url}/_sandbox/{path.lstrip('/')}", json=json, timeout=5)
        response.raise_for_status()
        return response

    def faults(self, **settings) -> dict:
        return self.control("PUT", "faults", settings).json()

    def deliveries(self, kind: str = "delivery") -> list[dict]:
        return self.control("GET", f"deliveries?kind={kind}").json()

    def products(self, specs: list[dict]) -> dict[str, dict]:
        """Create products (and their variations) as the merchant would; returns them by SKU."""
        created = self.control("POST", "products", specs).json()
        return {p["sku"]: p for p in created}

    def merchant_stock(self, product_id: int, quantity: int) -> dict:
        return self.control("POST", f"products/{product_id}/stock", {"stock_quantity": quantity}).json()

    def stock_of(self, product_id: int) -> int | None:
        with self.state.lock:
            return self.state.products[product_id].stock_quantity


@contextmanager
def running_sandbox(**state_options):
    """A sandbox shop on loopback with the contract tests' key; `state_options` go to WooState
    (e.g. wc_version="10.3.0")."""
    clock = FakeClock()
    state = WooState(seed=7, clock=clock, delivery_timeout=2.0, ping_timeout=2.0, **state_options)
    state.add_key(CONSUMER_KEY, CONSUMER_SECRET)
    server, thread = serve("127.0.0.1", 0, state)
    try:
        yield Sandbox(state, base_url(server), clock)
    finally:
        stop(server, thread)


def shop_for(sandbox: Sandbox, **options) -> WooCommerceShop:
    """The real adapter pointed at `sandbox` (no read retries unless asked)."""
    options.setdefault("read_attempts", 1)
    return WooCommerceShop(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, allow_private_hosts=True,
                           **options)


@pytest.fixture
def woo_sandbox():
    with running_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def woo_shop(woo_sandbox) -> WooCommerceShop:
    return WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=1,
                           allow_private_hosts=True)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def is_ping(self) -> bool:
        """WooCommerce's ping after a webhook's first delivery: an unsigned form post, no topic."""
        return "X-Wc-Webhook-Topic" not in self.headers


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records every request and answers `status`."""

    url: str = ""
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self._cond:
            self.requests.append(Received(dict(request.headers), request.get_data(), time.time()))
            self._cond.notify_all()
            status = self.status
        return Response("ok", status=status)(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)

    def signed(self) -> list[Received]:
        """The deliveries, without the pings."""
        with self._cond:
            return [r for r in self.requests if not r.is_ping]

    def wait_for_signed(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.signed()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} signed deliveries, got {len(self.signed())}")
            time.sleep(0.02)
        return self.signed()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def catalog(woo_sandbox) -> dict[str, dict]:
    """Three products the refund and note contracts order: a simple one with a GTIN, one without, a variation."""
    return woo_sandbox.products([
        {"name": "Koffiemolen", "sku": "KM-1", "global_unique_id": "8712345678901", "regular_price": "24.95",
         "manage_stock": True, "stock_quantity": 10},
        {"name": "Filters", "sku": "FI-1", "regular_price": "3.50", "manage_stock": True, "stock_quantity": 50},
        {"name": "Shirt", "sku": "SH", "variations": [
            {"sku": "SH-RED", "regular_price": "15.00", "manage_stock": True, "stock_quantity": 4,
             "attributes": [{"name": "Color", "option": "Red"}]}]},
    ])


@pytest.fixture
def receiver():
    endpoint = Receiver()
    server = make_server("127.0.0.1", 0, endpoint, threaded=True, request_handler=_Quiet)
    endpoint.url = f"http://127.0.0.1:{server.server_port}/webhooks/woocommerce/shop-1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
