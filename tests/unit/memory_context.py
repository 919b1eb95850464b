"""A SyncContext over the store's in-memory twin, fake ports and a clock the test moves: what the
use-case unit tests run on (no database, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from plugin.config import Settings
from plugin.store.memory import MemoryStore
from plugin.store.secrets import SecretBox
from plugin.sync.context import SyncContext

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@dataclass(eq=False)
class FakeShop:
    """The shop port: records calls; `fail` is raised by the next call that may fail."""
    orders: list = field(default_factory=list)
    fail: Exception | None = None
    calls: list = field(default_factory=list)

    def _call(self, name: str, *args):
        self.calls.append((name, *args))
        if self.fail is not None:
            raise self.fail

    def remove_webhooks(self, url: str) -> int:
        self._call("remove_webhooks", url)
        return 4

    def orders_modified_after(self, since):
        self._call("orders_modified_after", since)
        return iter(self.orders)

    def ensure_webhooks(self, url, secret, topics, **_):
        self._call("ensure_webhooks", url, secret, topics)

    def shop_capabilities(self):
        self._call("shop_capabilities")
        return self.capabilities

    capabilities = None   # a ShopCapabilities the shop says


class FakeAdapters:
    def __init__(self):
        self.shops: dict[int, FakeShop] = {}

    def shop(self, shop) -> FakeShop:
        return self.shops.setdefault(shop.id, FakeShop())


class NoQueue:
    def __getattr__(self, name):
        raise AssertionError(f"no job expected, {name} was queued")


def memory_context(tmp: Path, **settings) -> tuple[SyncContext, MemoryStore, Clock]:
    clock = Clock()
    store = MemoryStore(clock)
    ctx = SyncContext(db=None, box=SecretBox(Fernet.generate_key()),
                      settings=Settings.from_env(var_dir=tmp, public_url="https://ob.example", **settings),
                      adapters=FakeAdapters(), queue=NoQueue(), clock=clock, unit_of_work=store.unit_of_work)
    return ctx, store, clock
