"""bol.com Retailer API v10 adapter: client.py (HTTP, auth), mapping.py (pure JSON <-> ports),
adapter.py (the MarketplacePort)."""

from adapters.bol.adapter import (
    SHIPMENT_EVENT_TYPE,
    BolConfigSchema,
    BolMarketplace,
    config_schema,
    from_config,
)
from adapters.bol.client import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, VENDOR_JSON, BolClient

__all__ = [
    "DEFAULT_BASE_URL", "DEFAULT_TOKEN_URL", "SHIPMENT_EVENT_TYPE", "VENDOR_JSON",
    "BolClient", "BolConfigSchema", "BolMarketplace", "config_schema", "from_config",
]
