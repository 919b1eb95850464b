"""Returns: one returned order line (a marketplace RMA) and its small state machine.

    registered ──handled (result, quantity returned)──► handled

A return is registered on the marketplace by the buyer; orderbridge records it once (per
connection and RMA id) and tells the shop (a note or a refund record). The merchant handles it
in the shop (a refund of the returned line), and the marketplace is told the handling result and
the quantity that came back. A return handled on the marketplace directly is handled here too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from plugin.domain.errors import DomainError, IllegalTransition


class ReturnState(enum.StrEnum):
    REGISTERED = "registered"
    HANDLED = "handled"


@dataclass
class Return:
    rma_id: str
    quantity: int
    state: ReturnState = ReturnState.REGISTERED
    handling_result: str | None = None
    quantity_returned: int | None = None

    def handle(self, result: str, quantity_returned: int) -> None:
        if self.state is ReturnState.HANDLED:
            raise IllegalTransition(self.state.value, ReturnState.HANDLED.value)
        result = (result or "").strip()
        if not result:
            raise DomainError("handling a return needs a handling result")
        if not 0 <= quantity_returned <= self.quantity:
            raise DomainError(f"quantity returned must be between 0 and {self.quantity}, not {quantity_returned}")
        self.state = ReturnState.HANDLED
        self.handling_result = result
        self.quantity_returned = quantity_returned


@dataclass(frozen=True)
class RefundSeen:
    """A refund in the shop, reduced to what returns care about: its id, its marker (ours or
    not) and the quantity it refunds of each shop line."""
    refund_id: int
    ours: bool
    quantities: dict[int, int]


def quantity_refunded(refunds: list[RefundSeen] | tuple[RefundSeen, ...], shop_line_id: int, returned: int) -> int:
    """How much of a returned line the merchant refunded in the shop (our own refund records are
    not the merchant's handling): at most the quantity the buyer returns. 0 = not handled yet."""
    total = sum(abs(r.quantities.get(shop_line_id, 0)) for r in refunds if not r.ours)
    return min(returned, total)


@dataclass(frozen=True)
class RefundClaimant:
    """A return of the order that takes part in matching the merchant's refunds."""
    id: int
    line_id: str
    quantity: int
    open: bool                      # not handled yet (its handling may still come from a refund)
    refund_id: int | None = None    # the merchant refund an earlier match gave it


def allocate_refunds(claimants: list[RefundClaimant], refunds, lines) -> tuple[dict[int, tuple[int, int | None]], str | None]:
    """Which return each merchant refund handles: return id -> (quantity refunded, refund id), and
    why an amount-only refund was left alone (None when nothing was). `refunds` are the merchant's
    (ours left out), each with `id`, `amount` and `lines` of `shop_line_id` and `quantity`;
    `lines` the shop order's, each with `id`, `external_line_id`, `quantity` and `total`.

    Refunded quantities are consumed: the refunds' quantities of a shop line go to the returns of
    that line in the order they were registered (id order), each taking at most what it returns,
    so two returns of one line never both count one refunded unit. The order is the same for
    every job, so two jobs running at once agree. A refund without lines (an amount only) handles
    open returns only when that is unambiguous: the order has one open return, or the amount
    equals the value of its open returns; otherwise the merchant decides, and is told why."""
    by_external = {x.external_line_id: x for x in lines if x.external_line_id}
    left: dict[int, int] = {}
    first_refund: dict[int, int] = {}
    for f in refunds:
        for x in f.lines:
            left[x.shop_line_id] = left.get(x.shop_line_id, 0) + abs(x.quantity)
            first_refund.setdefault(x.shop_line_id, f.id)
    out: dict[int, tuple[int, int | None]] = {}
    for c in sorted(claimants, key=lambda c: c.id):
        line = by_external.get(c.line_id)
        if line is None:
            continue
        take = min(c.quantity, left.get(line.id, 0))
        if take > 0:
            left[line.id] -= take
            out[c.id] = (take, first_refund[line.id])
    why = None
    taken = {c.refund_id for c in claimants if c.refund_id is not None}
    for f in (f for f in refunds if not f.lines and f.id not in taken):
        candidates = [c for c in claimants if c.open and c.id not in out and c.line_id in by_external]
        if not candidates:
            continue
        value = sum((unit_price(by_external[c.line_id]) * c.quantity for c in candidates), Decimal("0"))
        if len(candidates) == 1 or abs(f.amount) == value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
            for c in candidates:
                out[c.id] = (c.quantity, f.id)
        else:
            why = (f"refund #{f.id} of {f.amount} has no lines and the order has {len(candidates)} open returns "
                   f"worth {value.quantize(Decimal('0.01'))} together: it is not clear which it handles. Refund "
                   f"the returned lines in the shop, or handle the returns on the marketplace")
    for c in claimants:     # a return an earlier job matched keeps its refund
        if c.refund_id is not None and c.id not in out and any(f.id == c.refund_id and not f.lines for f in refunds):
            out[c.id] = (c.quantity, c.refund_id)
    return out, why


def unit_price(line) -> Decimal:
    """A shop line's price of one unit (its total over its quantity)."""
    return (line.total / line.quantity) if line.quantity else Decimal("0")
