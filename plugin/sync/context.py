"""What every use case gets: the database, the secret box, the settings, a way to reach the
real adapters for a shop or connection, the job queue, and a clock (tests move time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from plugin.config import Settings
from plugin.store.clock import utcnow
from plugin.store.db import Database
from plugin.store.secrets import SecretBox
from plugin.sync.ports import (
    Enqueuer,
    MarketplaceCapabilities,
    MarketplacePort,
    ShopOrder,
    ShopPort,
    ShopProduct,
    UnitOfWork,
)

# The longest a single HTTP call of ours lasts (client timeouts are 10-15 s).
CALL_SECONDS = 15


def lease(settings: Settings) -> timedelta:
    """How long one worker owns a binding or a shipment while it calls out. When a worker dies
    mid-call, its request may still run on the other side for `in_flight_seconds`; only after
    that may another worker look it up and take over, or the look-up could miss a late commit."""
    return timedelta(seconds=CALL_SECONDS + settings.in_flight_seconds)


class Adapters(Protocol):
    def marketplace(self, connection: Any) -> MarketplacePort: ...

    def capabilities(self, marketplace: str) -> MarketplaceCapabilities:
        """What a marketplace can do (its adapter's declaration), without building a client."""

    def shop(self, shop: Any) -> ShopPort: ...

    def parse_shop_order(self, shop: Any, payload: dict) -> ShopOrder: ...

    def parse_shop_product(self, shop: Any, payload: dict) -> ShopProduct:
        """A product.updated webhook's body as a ShopProduct (the shop's EAN setting applied)."""

    def credentials_schema(self, marketplace: str) -> Any:
        """The marketplace adapter's own marshmallow schema for its credentials."""

    def check_shop_url(self, url: str) -> None:
        """Raises an AdapterError when the URL may not be called (SSRF guard)."""

    def authorize_url(self, store_url: str, **params: str) -> str: ...


@dataclass
class SyncContext:
    db: Database
    box: SecretBox
    settings: Settings
    adapters: Adapters
    queue: Enqueuer
    clock: Callable[[], datetime] = field(default=utcnow)
    # The store's named operations (plugin/store/unit_of_work.py; in unit tests its in-memory twin):
    # `with ctx.unit_of_work() as uow:` is one transaction. Use cases not yet moved off SQL use `db`.
    unit_of_work: Callable[[], UnitOfWork] | None = None
