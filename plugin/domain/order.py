"""The order status machine, and the state of each order line.

    not_shipped ──completed, no T&T──► waiting ──T&T added / grace over──► shipped
         │ └──────────completed with T&T──────────────────────────────────► │
         ├──► pending_cancellation ──marketplace confirmed──► cancelled      │
         │      (cancelled in the shop, or every open line    (or every line │
         │       asked off by the buyer)                       cancelled)    │
         └──► error ◄─── (creation failed, a push or cancellation refused) ◄─┘
    error ──resend──► the status it came from (recorded in `error_from`)

    not_shipped | waiting | shipped | pending_cancellation | error ──handle manually──► manual

Moved to the Trash in the shop: a flag on an error, not a status of its own. An open order (not
shipped, waiting) that the shop says is trashed moves to error with the error TRASHED_IN_SHOP and
`error_from` where it was: it is never shipped, the merchant sees it with the other errors and can
Resend (ship it anyway) or Handle manually; restored in the shop (any other view of the shop), it
goes back to where it was and the view applies as usual.

Lines have their own quantities (ordered, shipped, cancelled; open is what is left), so a
cancellation or a shipment can cover some lines only. A line with a cancellation on its way is
`cancelling`: nothing else cancels or ships it meanwhile. A line (or part of it) in a shipment on
its way is `shipping`: nothing else ships or cancels that part.

Partial shipments: a tracking entry of the shop that names lines (each line shipped with its own
T&T) is planned at once as a shipment of exactly those lines, keyed by its tracking number, while
the order keeps its status. Once no line is left without a shipment (cancelled lines never ship),
the order is shipped. Completion ships the rest (key "rest") with the T&T not bound to lines, or
waits for it / the grace period exactly as for a whole order. A buyer's cancellation request on a line
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
    # -> shipped: the rest was cancelled, some lines had left in their own shipments;
    # -> not shipped: a buyer's request refused because the merchant shipped first
    S.PENDING_CANCELLATION: frozenset({S.NOT_SHIPPED, S.CANCELLED, S.SHIPPED, S.ERROR, S.MANUAL}),
    S.CANCELLED: frozenset(),
    S.ERROR: frozenset({S.NOT_SHIPPED, S.WAITING, S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.MANUAL}),
    S.MANUAL: frozenset(),
}
# Statuses no shop view can change: a person (resend, handle manually) or nothing moves them.
SHOP_FINAL = frozenset({S.SHIPPED, S.PENDING_CANCELLATION, S.CANCELLED, S.ERROR, S.MANUAL})
REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"
# The error of an order the shop moved to its Trash (the flag: an error that starts with it).
TRASHED_IN_SHOP = "moved to the Trash in the shop"
TRASHED_ERROR = (f"{TRASHED_IN_SHOP}: not shipped. Restore it in the shop to let it go on, Resend to ship it "
                 "anyway, or handle it manually")


class LineState(enum.StrEnum):
    OPEN = "open"
    SHIPPING = "shipping"     # nothing left without a shipment, some of it not yet confirmed
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


REST = "rest"   # the key of the shipment of whatever no line-bound tracking entry carries


@dataclass
class Line:
    """One order line: what was ordered, shipped and cancelled. `open` is what is left."""
    line_id: str
    quantity: int
    shipped: int = 0
    cancelled: int = 0
    cancellation_requested: bool = False   # the buyer asked (on the marketplace) to cancel it
    cancelling: bool = False               # a cancellation of this line is on its way
    shipping: int = 0                      # quantity in shipments on their way (not yet confirmed)

    @property
    def open(self) -> int:
        return max(0, self.quantity - self.shipped - self.cancelled)

    @property
    def unshipped(self) -> int:
        """What no shipment covers yet: neither shipped nor on its way, nor cancelled."""
        return max(0, self.open - self.shipping)

    @property
    def state(self) -> LineState:
        if self.unshipped:
            return LineState.OPEN
        if self.open:
            return LineState.SHIPPING
        return LineState.SHIPPED if self.shipped else LineState.CANCELLED


@dataclass(frozen=True)
class LineTracking:
    """A tracking entry of the shop that ships some lines: (marketplace line id, quantity or None
    for the whole line)."""
    number: str
    provider: str | None
    items: tuple[tuple[str, int | None], ...]


@dataclass(frozen=True)
class PlannedShipment:
    """A shipment to write: its key (unique per order: the tracking number of a line-bound entry,
    REST for the rest), the (line id, quantity) it ships, and its T&T."""
    key: str
    items: tuple[tuple[str, int], ...]
    tracking_number: str | None = None
    tracking_provider: str | None = None


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
    # entries that name their lines (partial shipments); the T&T above is the newest other one
    line_trackings: tuple[LineTracking, ...] = ()
    trashed: bool = False     # in the shop's Trash (status "trash", or gone)


@dataclass(frozen=True)
class Outcome:
    """What applying an event did: the new status (None = unchanged) and whether a shipment
    must now be pushed to the marketplace."""
    status: OrderStatus | None = None
    push_shipment: bool = False
    reason: str = ""
    # The lines a new cancellation must cover on the marketplace (cancelled in the shop).
    cancel_lines: tuple[str, ...] = ()
    # The shipments to write now (push_shipment is True when there is any).
    shipments: tuple[PlannedShipment, ...] = ()


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
    # keys of the order's shipments so far (any state): a key is never planned twice
    shipment_keys: set[str] = field(default_factory=set)

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

    @property
    def trashed(self) -> bool:
        """Flagged as moved to the Trash in the shop (an error of its own, see the top)."""
        return self.status is S.ERROR and (self.error or "").startswith(TRASHED_IN_SHOP)

    # -- events
    def apply_shop_view(self, view: ShopView, now: datetime) -> Outcome:
        restored = None
        if self.trashed:
            if view.trashed:
                return Outcome()
            # restored from the Trash in the shop: back to where it was, then the view applies
            restored = self._move(self.error_from or S.NOT_SHIPPED, "restored from the Trash in the shop")
        elif self.status in SHOP_FINAL:
            return Outcome()  # final for the shop side; a resend or manual handling is a person's decision
        out = self._apply_open_view(view, now)
        if restored is not None and out.status is None:
            return Outcome(status=restored.status, reason=restored.reason, shipments=out.shipments,
                           push_shipment=out.push_shipment)
        return out

    def trashed_in_shop(self) -> Outcome:
        """The shop moved the order to its Trash (or it is gone): an open order is flagged, never
        shipped; any other status is not the shop's to change."""
        if self.status not in (S.NOT_SHIPPED, S.WAITING):
            return Outcome()
        return self.fail(TRASHED_ERROR)

    def _apply_open_view(self, view: ShopView, now: datetime) -> Outcome:
        if view.trashed:
            return self.trashed_in_shop()
        if view.cancelled:
            return self.cancelled_in_shop()
        planned = [p for p in (self._plan_lines(t) for t in view.line_trackings) if p is not None]
        if planned and self._all_lines_covered():
            self.shipped_at = now
            return self._shipped(planned, "every line shipped with its own track & trace")
        if not view.completed:
            return _planned_only(planned)
        if view.tracking_number:
            self.tracking_number = view.tracking_number
            self.tracking_provider = view.tracking_provider
            self.shipped_at = now
            return self._shipped(planned + self._plan_rest(), "completed with track & trace")
        if self._all_lines_covered():   # the lines' own entries already carry everything
            self.shipped_at = now
            return self._shipped(planned, "completed: every line shipped with its own track & trace")
        if self.status is S.WAITING:
            return _planned_only(planned)
        self.waiting_since = now
        out = self._move(S.WAITING, "completed without track & trace")
        return Outcome(status=out.status, reason=out.reason, shipments=tuple(planned), push_shipment=bool(planned))

    def grace_expired(self, now: datetime, grace: timedelta) -> Outcome:
        if self.status is not S.WAITING or self.waiting_since is None:
            return Outcome()
        if now - self.waiting_since < grace:
            return Outcome()
        self.shipped_at = now
        # the real wait, not the setting: a sweep that ran late (or an order restored from the
        # Trash long after) waited longer than the grace period
        return self._shipped(self._plan_rest(), f"no track & trace after {_human(now - self.waiting_since)} "
                                                f"(grace {_human(grace)}): shipped without it")

    def wait_again(self, now: datetime) -> Outcome:
        """Read again when its grace was over, the shop order is no longer completed (the
        merchant took the completion back): it is not shipped, and the grace counts from now."""
        if self.status is not S.WAITING:
            return Outcome()
        self.waiting_since = now
        return Outcome(reason="no longer completed in the shop: not shipped without track & trace; "
                              "the grace period starts again")

    def ship_trashed_anyway(self, now: datetime) -> Outcome:
        """The merchant's Resend of an order flagged as trashed that was waiting for its T&T:
        shipped without it, as the grace period would have. One that was not shipped yet goes
        back to not shipped (the shop's completion ships it)."""
        if not self.trashed:
            raise IllegalTransition(self.status.value, "ship anyway")
        if self.error_from is not S.WAITING:
            return self.resend()
        self.shipped_at = now
        return self._shipped(self._plan_rest(), "in the shop's Trash, shipped without track & trace anyway")

    # -- shipments
    def _shipped(self, planned: list[PlannedShipment], reason: str) -> Outcome:
        out = self._move(S.SHIPPED, reason)
        return Outcome(status=out.status, push_shipment=bool(planned), reason=out.reason, shipments=tuple(planned))

    def _plan_lines(self, tracking: LineTracking) -> PlannedShipment | None:
        """A line-bound tracking entry seen for the first time: a shipment of what it names that
        no other shipment covers (a repeated view, or an entry naming lines that are shipped,
        cancelled or being cancelled, plans nothing)."""
        if not tracking.number or tracking.number in self.shipment_keys:
            return None
        items: dict[str, int] = {}
        for line_id, quantity in tracking.items:
            line = self.line(line_id)
            if line is None or line.cancelling:
                continue
            take = line.unshipped if quantity is None else min(quantity, line.unshipped)
            if take > 0:
                line.shipping += take
                items[line_id] = items.get(line_id, 0) + take
        if not items:
            return None
        self.shipment_keys.add(tracking.number)
        return PlannedShipment(tracking.number, tuple(items.items()), tracking.number, tracking.provider)

    def _plan_rest(self) -> list[PlannedShipment]:
        """The shipment of everything no other shipment covers (not cancelled lines, nor lines
        with a cancellation on its way). An order whose lines are not known ships as a whole."""
        if REST in self.shipment_keys:
            return []
        items = tuple((line.line_id, line.unshipped) for line in self.lines if line.unshipped and not line.cancelling)
        if not items and self.lines:
            return []
        for line_id, quantity in items:
            self.line(line_id).shipping += quantity
        self.shipment_keys.add(REST)
        return [PlannedShipment(REST, items, self.tracking_number, self.tracking_provider)]

    def _all_lines_covered(self) -> bool:
        """Every line that is not cancelled (nor being cancelled) is shipped or on its way, and
        at least one line was shipped: then the order is shipped."""
        return (bool(self.lines) and not any(line.unshipped and not line.cancelling for line in self.lines)
                and any(line.shipped or line.shipping for line in self.lines))

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
        """Lines with something left to ship or cancel: no shipment covers it and no
        cancellation is on its way."""
        return tuple(line.line_id for line in self.lines if line.unshipped and not line.cancelling)

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
        if line.shipping:
            return "the line is being shipped (its own track & trace)"
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
        nothing_left = all(line.unshipped == 0 and not line.cancelling for line in self.lines)
        if nothing_left and not any(line.shipped or line.shipping for line in self.lines) \
                and S.CANCELLED in ALLOWED[self.status]:
            return self._move(S.CANCELLED, reason)
        if nothing_left and self.status in (S.NOT_SHIPPED, S.WAITING, S.PENDING_CANCELLATION):
            # some lines left in their own shipments, the others are cancelled: it is shipped
            return self._move(S.SHIPPED, f"{reason}; every other line is shipped")
        return Outcome()

    def cancellation_failed(self, line_ids: tuple[str, ...], reason: str) -> Outcome:
        """The marketplace (or the shop) refused the cancellation: the merchant sees why."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.cancelling = False
        return self.fail(reason)

    def cancellation_refused(self, line_ids: tuple[str, ...], reason: str) -> Outcome:
        """A buyer's request we do not apply (the merchant shipped first): its lines are open
        again, and an order the request had put in pending cancellation is back to not shipped,
        where the request found it; the shop's view then moves it on as usual."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.cancelling = False
        if self.status is OrderStatus.PENDING_CANCELLATION:
            return self._move(OrderStatus.NOT_SHIPPED, reason)
        return Outcome()

    def lines_shipped(self, line_ids: tuple[str, ...]) -> None:
        """The marketplace confirmed a shipment of these lines (their whole open quantity)."""
        for line_id in line_ids:
            line = self.line(line_id)
            if line is not None:
                line.shipped += line.open

    def items_shipped(self, items: tuple[tuple[str, int], ...]) -> None:
        """The marketplace confirmed a shipment of these quantities: they move from shipping to
        shipped (never beyond what is open)."""
        for line_id, quantity in items:
            line = self.line(line_id)
            if line is not None:
                done = min(quantity, line.open)
                line.shipped += done
                line.shipping = max(0, line.shipping - done)


def _planned_only(planned: list[PlannedShipment]) -> Outcome:
    """Line-bound shipments written while the order keeps its status."""
    if not planned:
        return Outcome()
    return Outcome(push_shipment=True, shipments=tuple(planned), reason="some lines shipped with their own track & trace")


def _human(delta: timedelta) -> str:
    """3 h, 36 s, 13 min 30 s, 2 h 5 min (whole seconds)."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (seconds, "s")) if n]
    return " ".join(parts) or "0 s"
