"""A faithful fake of a WooCommerce shop's REST API v3 (orders, products, webhooks, Shipment
Tracking) with webhook delivery and fault injection. See DESIGN.md, "sandbox/"."""

from .app import create_app
from .server import base_url, serve, stop
from .state import WooState

__all__ = ["WooState", "base_url", "create_app", "serve", "stop"]
