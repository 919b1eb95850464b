"""A faithful fake of a WooCommerce shop's REST API v3 (orders, refunds, order notes, products
and variations with stock, webhooks, Shipment Tracking) with webhook delivery and fault
injection. See DESIGN.md, "sandbox/"; each module's docstring names the WooCommerce code it
mirrors."""

from .app import create_app
from .server import base_url, serve, stop
from .state import WooState

__all__ = ["WooState", "base_url", "create_app", "serve", "stop"]
