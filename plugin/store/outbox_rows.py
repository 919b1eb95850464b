"""The compare-and-set moves every outbox row shares (a shipment, a cancellation, a return's
handling), written once for any of their tables and state columns (see plugin/sync/outbox.py for
the life they serve). Each move names the states it may start from: a row another worker (or a
merchant's click) has moved meanwhile is left alone and the move answers False."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from plugin.domain.errors import IllegalTransition
from plugin.domain.lifecycles import Lifecycle

SENDING = "sending"
PENDING = "pending"


class OutboxRows:
    """One table's outbox moves; `machine` is its state column's life (plugin/domain/lifecycles.py):
    a move the machine does not allow is a bug of ours and raises before any SQL is sent."""

    def __init__(self, model, machine: Lifecycle, state: str = "state"):
        self.model = model
        self.machine = machine
        self.state = state
        self._column = getattr(model, state)

    def claim(self, s: Session, row_id: int, states: tuple[str, ...] | None, now: datetime, until: datetime, *,
              count_attempt: bool = True) -> bool:
        """Take the row's lease (free, or expired: its holder died) while it is in `states` (None:
        whatever its state; the caller decided the step on the row it read)."""
        m = self.model
        in_states = self._column.in_(states) if states is not None else True
        return s.execute(
            update(m)
            .where(m.id == row_id, in_states, or_(m.lease_until.is_(None), m.lease_until < now))
            .values(lease_until=until, attempts=m.attempts + (1 if count_attempt else 0))
            .execution_options(synchronize_session=False)).rowcount == 1

    def move(self, s: Session, row_id: int, states: tuple[str, ...], target: str, **values) -> bool:
        """states -> target, with the other values, in the caller's transaction."""
        for current in states:
            if not self.machine.can(current, target, person=False):
                raise IllegalTransition(current, target, self.machine.what)
        m = self.model
        return s.execute(
            update(m).where(m.id == row_id, self._column.in_(states))
            .values({self.state: target, **values}).execution_options(synchronize_session=False)).rowcount == 1

    def submitted(self, s: Session, row_id: int, process_id: str) -> bool:
        return self.move(s, row_id, (SENDING,), "submitted", process_id=process_id, lease_until=None,
                         last_error=None, next_attempt_at=None)

    def release(self, s: Session, row_id: int, **values) -> None:
        m = self.model
        s.execute(update(m).where(m.id == row_id).values(lease_until=None, **values)
                  .execution_options(synchronize_session=False))

    def not_sent(self, row) -> None:
        """The marketplace definitively did not take the request the row is `sending`: nothing of it
        exists there, so the next attempt starts from `pending` and need not look it up."""
        if getattr(row, self.state) == SENDING and not row.process_id:
            setattr(row, self.state, self.machine.move(SENDING, PENDING, person=False).value)
            row.sent_at = None

    def back_off(self, row, error: str, at: datetime, *, not_sent: bool) -> None:
        """Give the loaded row back until `at`, keeping the error for the merchant to see."""
        if not_sent:
            self.not_sent(row)
        row.lease_until = None
        row.next_attempt_at = at
        row.last_error = error[:2000]
