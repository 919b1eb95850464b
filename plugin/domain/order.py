"""The order status machine, and the state of each order line.

    not_shipped ──completed, no T&T──► waiting ──T&T added / grace over──► shipped
         │ └──────────completed with T&T──────────────────────────────────► │
         ├──► pending_cancellation ──marketplace confirmed──► cancelled      │
         │      (cancelled in the shop, or every open line    (or every line │
         │       asked off by the buyer)                       cancelled)    │
         └──► error ◄─── (creation failed, a push or cancellation refused) ◄─┘
    error ──resend──► the status it came from (recorded in `error_from`)

    not_shipped | waiting | shipped | pending_cancellation | error ──handle manually──► manual

Lines have their own quantities (ordered, shipped, cancelled; open is what is left), so a
cancellation or a shipment can cover some lines only. A line with a cancellation on its way is
`cancelling`: nothing else cancels or ships it meanwhile. A buyer's cancellation request on a line
that is shipped (or an order completed in the shop) is refused with a reason: the parcel left.

`manual` ("handled manually") is the merchant taking the order out of orderbridge's hands: final,
like cancelled. Nothing leaves it, shop views change nothing, and no error of ours applies to it.

Shop states arrive out of order and more than once (webhooks are redelivered and reordered,
the safety-net poll repeats them), so applying a shop view never moves an order backwards:
a stale or repeated view is simply "no change".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugin.domain.errors import DomainError, IllegalTransition


class OrderStatus(enum.StrEnum):
    NOT_SHIPPED = "not_shipped"
    WAITING = "waiting"
    SHIPPED = "shipped"
    PENDING_CANCELLATION = "pending_cancellation"
    CANCELLED = "cancelled"
    ERROR = "error"
    MANUAL = "manual"


S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NOT_SHIPPED: frozenset({S.WAITING, S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.ERROR, S.MANUAL}),
    S.WAITING: frozenset({S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.ERROR, S.MANUAL}),
    S.SHIPPED: frozenset({S.ERROR, S.MANUAL}),
    S.PENDING_CANCELLATION: frozenset({S.CANCELLED, S.ERROR, S.MANUAL}),
    S.CANCELLED: frozenset(),
    S.ERROR: frozenset({S.NOT_SHIPPED, S.WAITING, S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.MANUAL}),
    S.MANUAL: frozenset(),
}
# Statuses no shop view can change: a person (resend, handle manually) or nothing moves them.
SHOP_FINAL = frozenset({S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.ERROR, S.MANUAL})
REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"


class LineState(enum.StrEnum):
    OPEN = "open"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass
class Line:
    """One order line: what was ordered, shipped and cancelled. `open` is what is left."""
    line_id: str
    quantity: int
    shipped: int = 0
    cancelled: int = 0
    cancellation_requested: bool = False   # the buyer asked (on the marketplace) to cancel it
    cancelling: bool = False               # a cancellation of this line is on its way

    @property
    def open(self) -> int:
        return max(0, self.quantity - self.shipped - self.cancelled)

    @property
    def state(self) -> LineState:
        if self.open:
            return LineState.OPEN
        return LineState.SHIPPED if self.shipped else LineState.CANCELLED


@dataclass(frozen=True)
class CancellationPlan:
    """What to do about cancelling lines: `cancel` these lines (whole open quantities) on both
    sides; `refused` lines with the reason why not; `whole` when nothing stays open afterwards.
    `newly_requested` are the buyer's requests seen for the first time (each is told once)."""
    cancel: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    whole: bool = False
    newly_requested: tuple[str, ...] = ()
    outcome: Outcome | None = None


@dataclass(frozen=True)
class ShopView:
    """What the shop says about the order right now."""
    completed: bool
    cancelled: bool = False
    tracking_number: str | None = None
    tracking_provider: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What applying an event did: the new status (None = unchanged) and whether a shipment
    must now be pushed to the marketplace."""
    status: OrderStatus | None = None
    push_shipment: bool = False
    reason: str = ""
    # The lines a new cancellation must cover on the marketplace (cancelled in the shop).
    cancel_lines: tuple[str, ...] = ()


@dataclass
class Order:
    status: OrderStatus = S.NOT_SHIPPED
    tracking_number: str | None = None
    tracking_provider: str | None = None
    waiting_since: datetime | None = None
    shipped_at: datetime | None = None
    error_from: OrderStatus | None = None
    error: str | None = None
    manual_reason: str | None = None
    lines: list[Line] = field(default_factory=list)
    history: list[tuple[OrderStatus, OrderStatus, str]] = field(default_factory=list)

    # -- the one place where status changes
    def _move(self, target: OrderStatus, reason: str) -> Outcome:
        if target not in ALLOWED[self.status]:
            raise IllegalTransition(self.status.value, target.value)
        if self.status is S.ERROR:   # leaving the error: it no longer applies
            self.error = None
            self.error_from = None
        self.history.append((self.status, target, reason))
        self.status = target
        return Outcome(status=target, reason=reason)

    # -- events
    def apply_shop_view(self, view: ShopView, now: datetime) -> Outcome:
        if self.status in SHOP_FINAL:
            return Outcome()  # final for the shop side; a resend or manual handling is a person's decision
        if view.cancelled:
            return self.cancelled_in_shop()
        if not view.completed:
            return Outcome()
        if view.tracking_number:
            self.tracking_number = view.tracking_number
            self.tracking_provider = view.tracking_provider
            self.shipped_at = now
            out = self._move(S.SHIPPED, "completed with track & trace")
            return Outcome(status=out.status, push_shipment=True, reason=out.reason)
        if self.status is S.WAITING:
            return Outcome()
        self.waiting_since = now
        return self._move(S.WAITING, "completed without track & trace")

    def grace_expired(self, now: datetime, grace: timedelta) -> Outcome:
        if self.status is not S.WAITING or self.waiting_since is None:
            return Outcome()
        if now - self.waiting_since < grace:
            return Outcome()
        self.shipped_at = now
        out = self._move(S.SHIPPED, f"no track & trace after {_human(grace)}: shipped without it")
        return Outcome(status=out.status, push_shipment=True, reason=out.reason)

    def fail(self, reason: str) -> Outcome:
        if self.status is S.MANUAL:
            return Outcome()  # out of our hands: a late failure of ours no longer concerns it
        if self.status is S.ERROR:
            self.error = reason
            return Outcome()
        self.error_from = self.status
        self.error = reason
        return self._move(S.ERROR, reason)

    def resend(self) -> Outcome:
        """A person asked to try again: back to where the error interrupted the order."""
        if self.status is not S.ERROR:
            raise IllegalTransition(self.status.value, "resend")
        target = self.error_from or S.NOT_SHIPPED
        self.error = None
        self.error_from = None
        out = self._move(target, "resend requested")
        return Outcome(status=out.status, push_shipment=target is S.SHIPPED, reason=out.reason)

    def cancel(self, reason: str) -> Outcome:
        return self._move(S.CANCELLED, reason)

    def handle_manually(self, reason: str) -> Outcome:
        """The merchant takes the order over (ships it, fixes it in the shop, ...): final."""
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("handling an order manually needs a reason")
        out = self._move(S.MANUAL, f"handled manually: {reason}")
        self.manual_reason = reason
        self.error = None
        self.error_from = None
        return out

    # -- lines
    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def open_lines(self) -> tuple[str, ...]:
        """Lines with something left to ship or cancel and no cancellation on its way."""
        return tuple(line.line_id for line in self.lines if line.open and not line.cancelling)

    def cancelled_in_shop(self) -> Outcome:
        """The merchant cancelled the order in the shop: the marketplace must cancel what is still
        open. Lines whose cancellation is already on its way (the buyer's) are left to it."""
        lines = self.open_lines()
        for line_id in lines:
            self.line(line_id).cancelling = True
        out = self._move(S.PENDING_CANCELLATION, "cancelled in the shop")
        return Outcome(status=out.status, reason=out.reason, cancel_lines=lines)

    def buyer_requests(self, requested: tuple[str, ...] | list[str] | set[str], *, apply: bool = True) -> CancellationPlan:
        """The marketplace shows the buyer's cancellation request on these lines. Lines asked for
        the first time are remembered (`newly_requested`); with `apply` (the shop setting
        marketplace_cancellations), the open ones are planned for cancellation and the rest refused
        with a reason. A request seen again is nothing new."""
        new = tuple(line_id for line_id in dict.fromkeys(requested)
                    if (line := self.line(line_id)) is not None and not line.cancellation_requested)
        for line_id in new:
            self.line(line_id).cancellation_requested = True
        if not new or not apply:
            return CancellationPlan(newly_requested=new)
        cancel: list[str] = []
        refused: list[tuple[str, str]] = []
        for line_id in new:
            line = self.line(line_id)
            why = self._why_not_cancellable(line)
            if why is None:
                cancel.append(line_id)
            elif why:
                refused.append((line_id, why))
        for line_id in cancel:
            self.line(line_id).cancelling = True
        whole = bool(cancel) and not self.open_lines() and not any(line.shipped for line in self.lines)
        outcome = None
        if whole and self.status is not S.PENDING_CANCELLATION:
            outcome = self._move(S.PENDING_CANCELLATION, "the buyer asked to cancel every open line")
        return CancellationPlan(cancel=tuple(cancel), refused=tuple(refused), whole=whole,
                                newly_requested=new, outcome=outcome)

    def _why_not_cancellable(self, line: Line) -> str | None:
        """None: cancellable; "": nothing to do (already cancelled or on its way); else why not."""
        if line.cancelling or line.state is LineState.CANCELLED:
            return ""
        if line.state is LineState.SHIPPED:
            return "the line is already shipped"
        status = self.error_from if self.status is S.ERROR and self.error_from else self.status
        if status is S.CANCELLED:
            return ""
        if status is S.WAITING:
            return "the order is completed in the shop (waiting for track & trace): it has left"
        if status is S.SHIPPED:
            return "the order is already shipped"
        if status is S.MANUAL:
            return "the order is handled manually: cancel it yourself if it has not left"
        return None   # not shipped (or in error before it was shipped): the parcel has not left

    def cancellation_confirmed(self, line_ids: tuple[str, ...], reason: str) -> Outcome:
        """The marketplace cancelled these lines. Once no line is open and none was shipped, the
        order is cancelled."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.cancelled = max(0, line.quantity - line.shipped)
                line.cancelling = False
        nothing_left = all(line.open == 0 and not line.cancelling for line in self.lines)
        if nothing_left and not any(line.shipped for line in self.lines) and S.CANCELLED in ALLOWED[self.status]:
            return self._move(S.CANCELLED, reason)
        return Outcome()

    def cancellation_failed(self, line_ids: tuple[str, ...], reason: str) -> Outcome:
        """The marketplace (or the shop) refused the cancellation: the merchant sees why."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.cancelling = False
        return self.fail(reason)

    def lines_shipped(self, line_ids: tuple[str, ...]) -> None:
        """The marketplace confirmed a shipment of these lines (their whole open quantity)."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.shipped += line.open


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
