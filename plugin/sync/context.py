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
from plugin.sync.ports import Enqueuer, MarketplacePort, ShopOrder, ShopPort

# How long one worker owns a binding or a shipment while it calls out. Longer than any single
# HTTP call (timeouts are 10-15 s); when a worker dies, another may take over after it.
LEASE = timedelta(seconds=45)


class Adapters(Protocol):
    def marketplace(self, connection: Any) -> MarketplacePort: ...

    def shop(self, shop: Any) -> ShopPort: ...

    def parse_shop_order(self, shop: Any, payload: dict) -> ShopOrder: ...


@dataclass
class SyncContext:
    db: Database
    box: SecretBox
    settings: Settings
    adapters: Adapters
    queue: Enqueuer
    clock: Callable[[], datetime] = field(default=utcnow)
