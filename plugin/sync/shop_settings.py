"""A shop's settings with every key present: shops stored before a setting existed get its
default (plugin.schemas.ShopSettingsSchema is the one place defaults live)."""

from __future__ import annotations

from functools import cache
from typing import Any

from plugin.schemas import ShopSettingsSchema


@cache
def _defaults() -> dict[str, Any]:
    return ShopSettingsSchema().load({})


def shop_settings(shop: Any) -> dict[str, Any]:
    return with_defaults(getattr(shop, "settings", None))


def with_defaults(settings: dict | None) -> dict[str, Any]:
    return {**_defaults(), **(settings or {})}


def stock_buffer(connection: Any) -> int:
    """The connection's safety buffer (Connection.settings["stock_buffer"], default 0)."""
    try:
        return max(0, int((getattr(connection, "settings", None) or {}).get("stock_buffer", 0) or 0))
    except (TypeError, ValueError):
        return 0
