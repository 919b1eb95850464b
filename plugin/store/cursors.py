from __future__ import annotations

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
