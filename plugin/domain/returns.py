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
