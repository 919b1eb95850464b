"""What the outbox kinds share whose own job walks every step of a row (a cancellation: the shop,
then the marketplace; a return: the shop, then its handling) and takes the row's lease before
each, following included: the lease given back, one job for retries and follows alike, and the
step a failure is told of."""

from __future__ import annotations

from adapters.errors import AdapterError
from plugin.store.outbox_rows import OutboxRows
from plugin.sync import outbox
from plugin.sync.context import SyncContext


class SteppedWrite:
    rows: OutboxRows     # the row's outbox moves
    job: str             # the Enqueuer method that runs the row's job: "push_cancellation", ...
    first_step: str      # the step a shop step precedes ("marketplace", "handle")

    def __init__(self, ctx: SyncContext, step: str | None = None):
        self.ctx = ctx
        self.step = step or self.first_step

    def failed(self, row_id: int, error: AdapterError, attempts: int) -> str:
        """This step failed: the runner's retry rules decide (the marketplace step's own failures
        reach the runner by itself; a shop step's come here)."""
        return outbox.failed(self, row_id, error, attempts, clock=self.ctx.clock,
                             in_flight_seconds=self.ctx.settings.in_flight_seconds)

    def release(self, row_id: int, error: str | None = None) -> None:
        with self.ctx.db.session() as s:
            self.rows.release(s, row_id, **({"last_error": error} if error is not None else {}))

    def retry_job(self, row_id: int, delay: float) -> None:
        getattr(self.ctx.queue, self.job)(row_id, delay=delay)

    def follow_job(self, row_id: int, delay: float) -> None:
        self.retry_job(row_id, delay)

    @property
    def _where(self) -> str:
        return "shop" if self.step == "shop" else "marketplace"
