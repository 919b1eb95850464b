"""WooCommerce shop adapter: REST API v3 client, mapping, webhook reading, and the ShopPort."""

from .adapter import WooCommerceShop
from .client import WooClient
from .webhooks import MalformedWebhook, WebhookDelivery, parse_delivery, verify_signature

__all__ = ["MalformedWebhook", "WebhookDelivery", "WooClient", "WooCommerceShop", "parse_delivery",
           "verify_signature"]
