"""The order status machine.

    not_shipped ──completed, no T&T──► waiting ──T&T added / grace over──► shipped
         │ └──────────completed with T&T──────────────────────────────────► │
         ├──► cancelled    (from not_shipped or waiting)                     │
         └──► error ◄─── (creation failed, or the push was refused) ◄────────┘
    error ──resend──► the status it came from (recorded in `error_from`)

    not_shipped | waiting | shipped | error ──handle manually (a reason)──► manual

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
    CANCELLED = "cancelled"
    ERROR = "error"
    MANUAL = "manual"


S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NOT_SHIPPED: frozenset({S.WAITING, S.SHIPPED, S.CANCELLED, S.ERROR, S.MANUAL}),
    S.WAITING: frozenset({S.SHIPPED, S.CANCELLED, S.ERROR, S.MANUAL}),
    S.SHIPPED: frozenset({S.ERROR, S.MANUAL}),
    S.CANCELLED: frozenset(),
    S.ERROR: frozenset({S.NOT_SHIPPED, S.WAITING, S.SHIPPED, S.CANCELLED, S.MANUAL}),
    S.MANUAL: frozenset(),
}
# Statuses no shop view can change: a person (resend, handle manually) or nothing moves them.
SHOP_FINAL = frozenset({S.SHIPPED, S.CANCELLED, S.ERROR, S.MANUAL})


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
    history: list[tuple[OrderStatus, OrderStatus, str]] = field(default_factory=list)

    # -- the one place where status changes
    def _move(self, target: OrderStatus, reason: str) -> Outcome:
        if target not in ALLOWED[self.status]:
            raise IllegalTransition(self.status.value, target.value)
        self.history.append((self.status, target, reason))
        self.status = target
        return Outcome(status=target, reason=reason)

    # -- events
    def apply_shop_view(self, view: ShopView, now: datetime) -> Outcome:
        if self.status in SHOP_FINAL:
            return Outcome()  # final for the shop side; a resend or manual handling is a person's decision
        if view.cancelled:
            return self._move(S.CANCELLED, "cancelled in the shop")
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


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
