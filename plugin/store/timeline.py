"""Writing to an order's timeline: one line per state change or external call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.store.clock import utcnow
from plugin.store.models import TimelineEntry
from plugin.store.secrets import redact


def record(session: Session, order_id: int, kind: str, message: str, *, outcome: str = "ok",
           secrets: tuple[str, ...] = (), at=None) -> None:
    session.add(TimelineEntry(order_id=order_id, kind=kind, outcome=outcome,
                              message=redact(message, secrets)[:2000], at=at or utcnow()))
