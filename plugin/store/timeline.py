"""Writing to an order's timeline: one line per state change or external call. Messages come
from our own code and from adapter errors, which keep credentials out of their text."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.store.clock import utcnow
from plugin.store.models import TimelineEntry


def record(session: Session, order_id: int, kind: str, message: str, *, outcome: str = "ok", at=None) -> None:
    session.add(TimelineEntry(order_id=order_id, kind=kind, outcome=outcome, message=message[:2000],
                              at=at or utcnow()))
