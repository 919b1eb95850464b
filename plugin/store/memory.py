"""The store's in-memory twin, for fast unit tests of the use cases: the same named operations as
unit_of_work.py (the Protocols at the end of plugin/sync/ports.py) over plain records that carry
every column of plugin/store/models.py with its default. A unit of work that ends with an error
leaves the store as it found it, as a rolled-back transaction does. One thread at a time: the
races the SQL store settles by compare-and-set are tested end to end, on both databases."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

from plugin.domain.lifecycles import ShopStatus
from plugin.store import models
from plugin.store.clock import utcnow
from plugin.store.unit_of_work import FINISHED_STOCK, shop_streams

MODELS = {m.class_.__tablename__: m.class_ for m in models.Base.registry.mappers}


class Record(SimpleNamespace):
    """A row: its columns as attributes."""


class MemoryStore:
    def __init__(self, clock: Callable[[], datetime] = utcnow):
        self.clock = clock
        self.tables: dict[str, dict[int, Record]] = {name: {} for name in MODELS}
        self._ids = itertools.count(1)

    def add(self, table: str, **values) -> Record:
        """A new row of `table`, with the models' defaults for every column not given."""
        row = Record(**{**self._defaults(table), **values})
        if row.id is None:
            row.id = next(self._ids)
        self.tables[table][row.id] = row
        return row

    def _defaults(self, table: str) -> dict:
        out = {}
        for column in MODELS[table].__table__.columns:
            default = column.default
            if default is None:
                out[column.name] = None
            elif default.is_scalar:
                out[column.name] = default.arg
            elif isinstance(column.type, models.UTCDateTime):
                out[column.name] = self.clock()
            else:
                out[column.name] = default.arg(None)
        return out

    def rows(self, table: str, **where) -> list[Record]:
        return [row for row in self.tables[table].values()
                if all(getattr(row, key) == value for key, value in where.items())]

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


class MemoryShops:
    def __init__(self, store: MemoryStore):
        self.store = store

    def get(self, shop_id: int) -> Record | None:
        return self.store.tables["shops"].get(shop_id)

    def disconnect(self, shop_id: int, at: datetime, reason: str) -> bool:
        shop = self.get(shop_id)
        if shop is None or shop.status == ShopStatus.DISCONNECTED.value:
            return False
        shop.status, shop.disconnected_at, shop.disconnect_reason = ShopStatus.DISCONNECTED.value, at, reason
        return True

    def _expired(self, shop: Record, cutoff: datetime) -> bool:
        return (shop.status == ShopStatus.DISCONNECTED.value and shop.disconnected_at is not None
                and shop.disconnected_at < cutoff)

    def disconnected_before(self, cutoff: datetime) -> list[int]:
        return sorted(shop.id for shop in self.store.tables["shops"].values() if self._expired(shop, cutoff))

    def purge(self, shop_id: int, cutoff: datetime) -> bool:
        shop = self.get(shop_id)
        if shop is None or not self._expired(shop, cutoff):
            return False
        tables = self.store.tables
        conn_ids = [c.id for c in self.store.rows("connections", shop_id=shop_id)]
        order_ids = [o.id for o in self.store.rows("orders", shop_id=shop_id)]
        for rows in tables.values():   # what the foreign keys cascade to
            for row_id, row in list(rows.items()):
                if (getattr(row, "shop_id", None) == shop_id or getattr(row, "connection_id", None) in conn_ids
                        or getattr(row, "order_id", None) in order_ids):
                    del rows[row_id]
        del tables["shops"][shop_id]
        streams = set(shop_streams(shop_id, conn_ids))
        for row_id, cursor in list(tables["poll_cursors"].items()):
            if cursor.stream in streams:
                del tables["poll_cursors"][row_id]
        return True


class MemoryConnections:
    def __init__(self, store: MemoryStore):
        self.store = store

    def of_shop(self, shop_id: int) -> list[Record]:
        return sorted(self.store.rows("connections", shop_id=shop_id), key=lambda c: c.id)


class MemoryCursors:
    def __init__(self, store: MemoryStore):
        self.store = store

    def _cursor(self, stream: str) -> Record:
        found = self.store.rows("poll_cursors", stream=stream)
        return found[0] if found else self.store.add("poll_cursors", stream=stream)

    def read_from(self, stream: str) -> datetime | None:
        return self._cursor(stream).cursor_at

    def succeeded(self, stream: str, started: datetime, now: datetime) -> None:
        cursor = self._cursor(stream)
        cursor.cursor_at, cursor.last_success_at, cursor.last_error = started, now, None

    def failed(self, stream: str, error: str) -> None:
        self._cursor(stream).last_error = error[:2000]

    def claim_period(self, stream: str, now: datetime, every: timedelta) -> bool:
        cursor = self._cursor(stream)
        if cursor.last_success_at is not None and cursor.last_success_at > now - every:
            return False
        cursor.last_success_at = now
        return True


class MemoryHistory:
    def __init__(self, store: MemoryStore):
        self.store = store

    def _forget(self, table: str, gone) -> int:
        rows = self.store.tables[table]
        ids = [row_id for row_id, row in rows.items() if gone(row)]
        for row_id in ids:
            del rows[row_id]
        return len(ids)

    def forget_stock_updates_before(self, cutoff: datetime) -> int:
        return self._forget("stock_updates", lambda u: u.state in FINISHED_STOCK and u.updated_at < cutoff)

    def forget_grants_expired_before(self, cutoff: datetime) -> int:
        return self._forget("auth_grants", lambda g: g.expires_at < cutoff)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore):
        self.store = store
        self.shops = MemoryShops(store)
        self.connections = MemoryConnections(store)
        self.cursors = MemoryCursors(store)
        self.history = MemoryHistory(store)

    def __enter__(self) -> MemoryUnitOfWork:
        self._before = copy.deepcopy(self.store.tables)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:   # as a rolled-back transaction: nothing of it stays
            self.store.tables.clear()
            self.store.tables.update(self._before)
