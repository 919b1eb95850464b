"""What a marketplace cannot take, asked of its declared capabilities before a write is sent: a
write it cannot take is refused here with the reason, for the merchant to see, instead of being
sent to fail there (or worse, to be read as something else)."""

from __future__ import annotations

from collections.abc import Iterable

from plugin.sync.ports import CancelItems, MarketplaceCapabilities, ShipmentRequest


def why_not_shippable(capabilities: MarketplaceCapabilities, request: ShipmentRequest) -> str | None:
    """None when the marketplace can take the shipment as planned."""
    if request.quantities and not capabilities.ships_parts_of_lines:
        parts = ", ".join(f"{quantity} of line {line_id}" for line_id, quantity in request.quantities)
        return f"the marketplace ships whole lines only, and this shipment carries part of a line ({parts})"
    return None


def why_not_cancellable(capabilities: MarketplaceCapabilities, request: CancelItems,
                        open_lines: Iterable[str]) -> str | None:
    """None when the marketplace can take the cancellation: some lines only needs a marketplace
    that cancels per line."""
    if not capabilities.cancels_lines and set(request.line_ids) != set(open_lines):
        return "the marketplace cancels whole orders only, and this cancels some of the order's lines"
    return None
