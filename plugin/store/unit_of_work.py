"""The store's named operations over SQLAlchemy (the Protocols at the end of plugin/sync/ports.py):
one unit of work is one database transaction, committed when it ends without an error. Every
guarantee the use cases count on is kept here, in the statements: compare-and-set moves, the
status checked again in the deleting statement."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from plugin.domain.lifecycles import ShopStatus
from plugin.store import models
from plugin.store.cursors import cursor_for, poll_failed, poll_succeeded
from plugin.store.db import Database

FINISHED_STOCK = ("sent", "superseded", "skipped")


class SqlShops:
    def __init__(self, s: Session):
        self.s = s

    def get(self, shop_id: int) -> models.Shop | None:
        return self.s.get(models.Shop, shop_id)

    def disconnect(self, shop_id: int, at: datetime, reason: str) -> bool:
        return self.s.execute(
            update(models.Shop)
            .where(models.Shop.id == shop_id, models.Shop.status != ShopStatus.DISCONNECTED.value)
            .values(status=ShopStatus.DISCONNECTED.value, disconnected_at=at, disconnect_reason=reason)
            .execution_options(synchronize_session=False)).rowcount == 1

    @staticmethod
    def _expired(cutoff: datetime) -> tuple:
        return (models.Shop.status == ShopStatus.DISCONNECTED.value, models.Shop.disconnected_at.is_not(None),
                models.Shop.disconnected_at < cutoff)

    def disconnected_before(self, cutoff: datetime) -> list[int]:
        return list(self.s.scalars(select(models.Shop.id).where(*self._expired(cutoff)).order_by(models.Shop.id)))

    def purge(self, shop_id: int, cutoff: datetime) -> bool:
        conn_ids = list(self.s.scalars(select(models.Connection.id).where(models.Connection.shop_id == shop_id)))
        # the status checked again in the deleting statement: a re-install in between wins; the
        # foreign keys cascade to everything the shop owns
        gone = self.s.execute(delete(models.Shop).where(models.Shop.id == shop_id, *self._expired(cutoff))
                              .execution_options(synchronize_session=False)).rowcount
        if not gone:
            return False
        self.s.execute(delete(models.PollCursor).where(models.PollCursor.stream.in_(shop_streams(shop_id, conn_ids)))
                       .execution_options(synchronize_session=False))
        return True


def shop_streams(shop_id: int, connection_ids) -> list[str]:
    """The poll streams of a shop and its connections."""
    return [f"shop:{shop_id}:orders"] + [f"connection:{c}:{what}" for c in connection_ids
                                         for what in ("orders", "stock", "returns")]


class SqlConnections:
    def __init__(self, s: Session):
        self.s = s

    def of_shop(self, shop_id: int) -> list[models.Connection]:
        return list(self.s.scalars(select(models.Connection).where(models.Connection.shop_id == shop_id)
                                   .order_by(models.Connection.id)))


class SqlCursors:
    def __init__(self, s: Session):
        self.s = s

    def read_from(self, stream: str) -> datetime | None:
        return cursor_for(self.s, stream).cursor_at

    def succeeded(self, stream: str, started: datetime, now: datetime) -> None:
        poll_succeeded(self.s, stream, started, now)

    def failed(self, stream: str, error: str) -> None:
        poll_failed(self.s, stream, error)

    def claim_period(self, stream: str, now: datetime, every: timedelta) -> bool:
        cursor_for(self.s, stream)
        c = models.PollCursor
        return self.s.execute(
            update(c).where(c.stream == stream, or_(c.last_success_at.is_(None), c.last_success_at <= now - every))
            .values(last_success_at=now).execution_options(synchronize_session=False)).rowcount == 1


class SqlHistory:
    def __init__(self, s: Session):
        self.s = s

    def forget_stock_updates_before(self, cutoff: datetime) -> int:
        su = models.StockUpdate
        return self.s.execute(delete(su).where(su.state.in_(FINISHED_STOCK), su.updated_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount

    def forget_grants_expired_before(self, cutoff: datetime) -> int:
        return self.s.execute(delete(models.AuthGrant).where(models.AuthGrant.expires_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount


class SqlUnitOfWork:
    """`with SqlUnitOfWork(db) as uow:` one transaction (Database.session: commit on success,
    roll back on any error)."""

    def __init__(self, db: Database):
        self._db = db

    def __enter__(self) -> SqlUnitOfWork:
        self._session = self._db.session()
        s = self._session.__enter__()
        self.shops = SqlShops(s)
        self.connections = SqlConnections(s)
        self.cursors = SqlCursors(s)
        self.history = SqlHistory(s)
        return self

    def __exit__(self, *exc) -> None:
        self._session.__exit__(*exc)
