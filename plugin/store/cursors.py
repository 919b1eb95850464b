from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.store.models import PollCursor


def cursor_for(session: Session, stream: str) -> PollCursor:
    cursor = session.scalar(select(PollCursor).where(PollCursor.stream == stream))
    if cursor is None:
        try:
            with session.begin_nested():
                cursor = PollCursor(stream=stream)
                session.add(cursor)
        except IntegrityError:
            cursor = session.scalar(select(PollCursor).where(PollCursor.stream == stream))
    return cursor


def poll_succeeded(session: Session, stream: str, started: datetime, now: datetime) -> PollCursor:
    """A poll of `stream` that began at `started` went through: the next one reads from there."""
    cursor = cursor_for(session, stream)
    cursor.cursor_at = started
    cursor.last_success_at = now
    cursor.last_error = None
    return cursor


def poll_failed(session: Session, stream: str, error: str) -> None:
    """The poll failed: the cursor stays where it was, the reason is kept for the admin."""
    cursor_for(session, stream).last_error = error[:2000]
