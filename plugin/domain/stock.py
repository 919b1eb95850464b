"""Stock sent to a marketplace offer, and the states of a stock update as merchants know them.

The sellable amount is the shop's stock minus what this connection's marketplace orders that are
not yet in the shop reserve (the shop has not taken them off its stock yet), minus the
connection's safety buffer, never below 0. None when the shop does not manage the product's stock.

Coalescing: only the newest value per offer is sent; a pending update that a newer one replaces
is `superseded` and never sent.
"""

from __future__ import annotations

import enum


class StockState(enum.StrEnum):
    PENDING = "pending"        # waiting for its turn (the connection's rate budget)
    SENDING = "sending"        # being sent now (committed before the call)
    SENT = "sent"              # the marketplace accepted the value
    SUPERSEDED = "superseded"  # a newer value replaced it before it was sent, or it changed nothing
    SKIPPED = "skipped"        # not listed on the marketplace, stock not managed, test mode
    ERROR = "error"            # refused by the marketplace: a person looks at it


OPEN_STOCK_STATES = (StockState.PENDING, StockState.SENDING)


def sellable(shop_stock: int | None, reserved: int = 0, buffer: int = 0) -> int | None:
    if shop_stock is None:
        return None
    return max(0, int(shop_stock) - max(0, int(reserved)) - max(0, int(buffer)))
