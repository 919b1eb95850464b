"""Pure domain: no imports from the rest of orderbridge, no I/O."""

from plugin.domain.errors import DomainError, IllegalTransition, NoTransporter
from plugin.domain.order import Order, OrderStatus, Outcome, ShopView
from plugin.domain.transporters import TransporterRule, TransporterRules

__all__ = [
    "DomainError", "IllegalTransition", "NoTransporter", "Order", "OrderStatus", "Outcome", "ShopView",
    "TransporterRule", "TransporterRules",
]
