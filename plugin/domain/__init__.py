"""Pure domain: no imports from the rest of orderbridge, no I/O."""

from plugin.domain.errors import DomainError, IllegalTransition, NoTransporter
from plugin.domain.lifecycles import (
    BINDING,
    CANCELLATION,
    GRANT,
    LIFECYCLES,
    ORDER,
    RETURN,
    RETURN_HANDLING,
    RETURN_SHOP,
    SHIPMENT,
    SHOP,
    STOCK_UPDATE,
    BindingState,
    CancellationDirection,
    CancellationShopAction,
    CancellationState,
    GrantPurpose,
    GrantState,
    Lifecycle,
    OfferStockStatus,
    OutboxState,
    ReturnShopAction,
    ReturnShopState,
    ShopStatus,
    TimelineKind,
    TimelineOutcome,
    check_move,
)
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
from plugin.domain.returns import (
    RefundClaimant,
    RefundSeen,
    Return,
    ReturnState,
    allocate_refunds,
    quantity_refunded,
    unit_price,
)
from plugin.domain.stock import OPEN_STOCK_STATES, StockState, sellable
from plugin.domain.transporters import TransporterRule, TransporterRules

__all__ = [
    "BINDING", "CANCELLATION", "GRANT", "LIFECYCLES", "ORDER", "RETURN", "RETURN_HANDLING", "RETURN_SHOP",
    "SHIPMENT", "SHOP", "STOCK_UPDATE", "BindingState", "CancellationDirection", "CancellationShopAction",
    "CancellationState", "GrantPurpose", "GrantState", "Lifecycle", "OfferStockStatus", "OutboxState",
    "ReturnShopAction", "ReturnShopState", "ShopStatus", "TimelineKind", "TimelineOutcome", "check_move",
    "OPEN_STOCK_STATES", "REQUESTED_BY_CUSTOMER", "CancellationPlan", "DomainError", "IllegalTransition", "Line",
    "LineState", "NoTransporter", "Order", "OrderStatus", "Outcome", "RefundClaimant", "RefundSeen", "Return", "ReturnState",
    "ShopView", "StockState", "TransporterRule", "TransporterRules", "allocate_refunds", "quantity_refunded", "unit_price", "sellable",
]
