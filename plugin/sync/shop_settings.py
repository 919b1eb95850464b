"""A shop's settings with every key present: shops stored before a setting existed get its
default (plugin.schemas.ShopSettingsSchema is the one place defaults live); and saving them, so
that a shorter interval applies at once."""

from __future__ import annotations

from datetime import datetime, timedelta
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


# The shop settings that pace a periodic job, and where that job's next time is kept: the
# shop's own poll on the shop, the stock reconcile and the returns poll on each of its connections.
PACED = (("shop_poll_seconds", "shop", "next_poll_at"),
         ("stock_reconcile_seconds", "connections", "stock_reconcile_at"),
         ("returns_poll_seconds", "connections", "returns_poll_at"))


def sooner_for_shorter_interval(current: datetime | None, old: int, new: int, now: datetime) -> datetime | None:
    """The next time of a periodic job whose interval went from `old` to `new` seconds. A shorter
    interval applies at once (it used to wait for the old slot: an hourly returns poll set to a
    minute still came an hour later): `new` after the last run (the slot before `current`), not
    in the past, never later than `current`. A longer one keeps the slot already set."""
    if current is None or new >= old:
        return current
    after_last = current - timedelta(seconds=old) + timedelta(seconds=new)
    return min(current, now + timedelta(seconds=new), max(now, after_last))


def save_shop_settings(ctx: Any, shop_id: int, settings: dict) -> None:
    """Store a shop's settings (already checked); the periodic jobs whose interval got shorter
    come sooner."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        old, new = with_defaults(shop.settings), with_defaults(settings)
        shop.settings = settings
        connections = None
        for key, where, column in PACED:
            before, after = int(old[key]), int(new[key])
            if after >= before:
                continue
            if where == "shop":
                setattr(shop, column, sooner_for_shorter_interval(getattr(shop, column), before, after, now))
                continue
            if connections is None:
                connections = uow.connections.of_shop(shop_id)
            for conn in connections:
                setattr(conn, column, sooner_for_shorter_interval(getattr(conn, column), before, after, now))
