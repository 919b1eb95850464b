"""The app's own HTTP surface under hostile input: one in-process world per test module.

- The Flask app is called in-process (WSGI, no socket); the database is a fresh SQLite file of
  this package's own (or, on ORDERBRIDGE_TEST_BACKEND=postgres, the run's PostgreSQL database,
  reset). The shop side is the WooCommerce sandbox on loopback (install callbacks, disconnect);
  the marketplace is a stub whose `check()` answers at once, so a valid connection form costs no
  network round trips and no retry back-off.
- The queue records what the web layer enqueues and runs nothing by itself: a test runs the
  webhook deliveries it wants processed (`world.process_deliveries()`), so "no state change"
  compares a quiet database.
- Nothing leaves the machine: name resolution outside loopback fails at once while the world is
  up (a fuzzed store URL or API URL override must never reach DNS or the internet).
- Every log record at DEBUG is captured and must not contain a secret (see `no_secrets_logged`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets as pysecrets
import socket
import traceback
from collections import deque
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import _TMP, BACKEND

SHOP_KEYS = ("ck_fuzz" + "1" * 33, "cs_fuzz" + "2" * 33)
SELLER = ("fuzz-seller", "fuzz-seller-secret-" + "3" * 20)
SHOP_ORDER_ID = 4242
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


class RecordingQueue:
    """The Enqueuer port: records, runs nothing until asked."""

    def __init__(self) -> None:
        self.pending: deque = deque()
        self.ctx = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(arg=None, *rest, delay: float = 0):
            self.pending.append((name, (arg, *rest) if rest else arg))
        return record

    def take(self, name: str) -> list:
        taken = [arg for kind, arg in self.pending if kind == name]
        self.pending = deque((k, a) for k, a in self.pending if k != name)
        return taken


class StubMarketplace:
    """The marketplace port as far as the web layer uses it: `check()`."""

    def __init__(self, credentials: dict):
        self.credentials = credentials

    def check(self) -> None:
        from adapters.errors import AuthError
        if self.credentials.get("client_secret") != SELLER[1]:
            raise AuthError("401 from the stub marketplace")

    def __getattr__(self, name):
        from adapters.errors import AdapterError

        def refuse(*_a, **_k):
            raise AdapterError(f"stub marketplace: {name} is not available in the fuzz world")
        return refuse


def _guarded_getaddrinfo(real):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz world: no name resolution for {name[:60]!r}")
        return real(host, *args, **kwargs)
    return getaddrinfo


@dataclasses.dataclass
class World:
    ctx: object
    app: object
    queue: RecordingQueue
    woo_state: object
    woo_url: str
    shop_id: int
    public_id: str
    webhook_secret: str
    connection_id: int
    order_id: int
    csrf: str
    cookie: str

    def __repr__(self) -> str:           # failure reports show no secret
        return f"World(shop={self.shop_id}, connection={self.connection_id}, order={self.order_id})"

    # ---------------------------------------------------------------- clients
    def client(self, *, signed_in: bool = False):
        client = self.app.test_client()
        if signed_in:
            client.set_cookie("orderbridge_session", self.cookie, domain="localhost")
        return client

    def secrets(self) -> list[str]:
        return [SHOP_KEYS[1], SELLER[1], self.webhook_secret, self.cookie, self.csrf]

    # ---------------------------------------------------------------- state
    def snapshot(self) -> dict:
        """Every row of every table, ordered: what any request could have changed."""
        from plugin.store import models
        out = {}
        with self.ctx.db.engine.connect() as conn:
            for table in models.Base.metadata.sorted_tables:
                order = [c for c in table.primary_key.columns] or list(table.columns)
                out[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
        return out

    def process_deliveries(self) -> list[str]:
        from plugin.sync.process_delivery import process_delivery
        return [process_delivery(self.ctx, row_id) for row_id in self.queue.take("process_delivery")]

    def reset_order(self) -> None:
        """The world's order back to Not shipped, its shipment, timeline and deliveries gone."""
        from sqlalchemy import delete, update

        from plugin.store import models
        with self.ctx.db.session() as s:
            s.execute(delete(models.Shipment).where(models.Shipment.order_id == self.order_id))
            s.execute(delete(models.Cancellation).where(models.Cancellation.order_id == self.order_id))
            s.execute(delete(models.TimelineEntry).where(models.TimelineEntry.order_id == self.order_id))
            s.execute(delete(models.WebhookDelivery))
            s.execute(update(models.Order).where(models.Order.id == self.order_id).values(
                status="not_shipped", tracking_number=None, tracking_provider=None, waiting_since=None,
                shipped_at=None, error=None, error_from=None, shop_modified_at=None, manual_reason=None))
        self.queue.pending.clear()


def _make_order(ctx, shop_id: int, connection_id: int) -> int:
    from plugin.store import models
    with ctx.db.session() as s:
        order = models.Order(shop_id=shop_id, connection_id=connection_id, external_id="FUZZ-1",
                             status="not_shipped", address={}, placed_at=datetime.now(UTC))
        order.lines.append(models.OrderLine(external_line_id="L1", quantity=1, unit_price="9.99"))
        s.add(order)
        s.flush()
        s.add(models.Binding(connection_id=connection_id, external_id="FUZZ-1", shop_id=shop_id,
                             order_id=order.id, ref=f"ob-fuzz-{order.id}", state="created",
                             shop_order_id=SHOP_ORDER_ID, shop_order_number=str(SHOP_ORDER_ID)))
        return order.id


@pytest.fixture(scope="module")
def world():
    from plugin.config import Settings
    from plugin.demo.stack import reset_database
    from plugin.registry import AdapterRegistry
    from plugin.runtime import build_context, set_context
    from plugin.store import models
    from plugin.sync.connect import add_connection, register_shop
    from plugin.web import create_app
    from sandbox.woocommerce.server import serve, stop
    from sandbox.woocommerce.state import WooState

    real = socket.getaddrinfo
    socket.getaddrinfo = _guarded_getaddrinfo(real)
    database_url = (os.environ["DATABASE_URL"] if BACKEND == "postgres"
                    else f"sqlite:///{_TMP}/fuzz.db")
    # the webhooks the sandbox shop sends itself go to a closed port: only our own requests count
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
    dead.close()
    settings = Settings.from_env(database_url=database_url, public_url=dead_url)
    reset_database(settings.database_url)
    woo_state = WooState(seed=11)
    woo_state.add_key(*SHOP_KEYS)
    server, thread = serve("127.0.0.1", 0, woo_state)
    woo_url = f"http://127.0.0.1:{server.server_port}"

    class FuzzAdapters(AdapterRegistry):
        def marketplace(self, connection):
            return StubMarketplace(self._box.open_json(connection.credentials))

    queue = RecordingQueue()
    ctx = build_context(settings, queue)
    ctx.adapters = FuzzAdapters(ctx.box, settings)
    app = create_app(settings, context=ctx)
    app.config["TESTING"] = False          # errors go through the app's handlers, as in production
    shop_id = register_shop(ctx, {"name": "Fuzz shop", "url": woo_url, "consumer_key": SHOP_KEYS[0],
                                  "consumer_secret": SHOP_KEYS[1],
                                  "settings": {"transporters": {"default": "TNT"}}})
    connection_id = add_connection(ctx, shop_id, {
        "marketplace": "bol", "name": "Fuzz seller",
        "credentials": {"client_id": SELLER[0], "client_secret": SELLER[1]}})
    order_id = _make_order(ctx, shop_id, connection_id)
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        public_id, webhook_secret = shop.public_id, ctx.box.open(shop.webhook_secret)
    csrf = pysecrets.token_urlsafe(32)
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_permanent": True, "shop_id": shop_id, "csrf": csrf})
    queue.pending.clear()
    try:
        yield World(ctx=ctx, app=app, queue=queue, woo_state=woo_state, woo_url=woo_url, shop_id=shop_id,
                    public_id=public_id, webhook_secret=webhook_secret, connection_id=connection_id,
                    order_id=order_id, csrf=csrf, cookie=cookie)
    finally:
        socket.getaddrinfo = real
        stop(server, thread)
        woo_state.close()
        set_context(None)
        ctx.db.dispose()


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


@pytest.fixture
def no_secrets_logged(world, caplog):
    """Captures every record at DEBUG for the test; afterwards no secret may be in any of them."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    leaks = [(secret[:6] + "…", record.name, _record_text(record)[:300])
             for record in caplog.records for secret in world.secrets() if secret in _record_text(record)]
    assert not leaks, f"secrets in the logs: {leaks}"
