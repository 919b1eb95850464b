"""Pure domain: no imports from the rest of orderbridge, no I/O."""

from plugin.domain.errors import DomainError, IllegalTransition, NoTransporter
from plugin.domain.order import (
    REQUESTED_BY_CUSTOMER,
    CancellationPlan,
    Line,
    LineState,
    Order,
    OrderStatus,
    Outcome,
    ShopView,
)
from plugin.domain.returns import RefundSeen, Return, ReturnState, quantity_refunded
from plugin.domain.stock import OPEN_STOCK_STATES, StockState, sellable
from plugin.domain.transporters import TransporterRule, TransporterRules

__all__ = [
    "OPEN_STOCK_STATES", "REQUESTED_BY_CUSTOMER", "CancellationPlan", "DomainError", "IllegalTransition", "Line",
    "LineState", "NoTransporter", "Order", "OrderStatus", "Outcome", "RefundSeen", "Return", "ReturnState",
    "ShopView", "StockState", "TransporterRule", "TransporterRules", "quantity_refunded", "sellable",
]
