"""bol.com Retailer API v10 (Offers API v11) adapter: client.py (HTTP, auth), mapping.py (pure JSON <-> ports),
adapter.py (the MarketplacePort)."""

from adapters.bol.adapter import (
    CANCELLATION_EVENT_TYPE,
    RETURN_EVENT_TYPE,
    SHIPMENT_EVENT_TYPE,
    BolConfigSchema,
    BolMarketplace,
    config_schema,
    from_config,
)
from adapters.bol.client import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, VENDOR_JSON, VENDOR_JSON_V11, BolClient

__all__ = [
    "CANCELLATION_EVENT_TYPE", "DEFAULT_BASE_URL", "DEFAULT_TOKEN_URL", "RETURN_EVENT_TYPE", "SHIPMENT_EVENT_TYPE",
    "VENDOR_JSON", "VENDOR_JSON_V11",
    "BolClient", "BolConfigSchema", "BolMarketplace", "config_schema", "from_config",
]
