"""Use case: know what the shop's software has, so the settings can say what works there.

WooCommerce before 9.2 has no GTIN field (`global_unique_id`): stock sync matching by "EAN (GTIN)"
without an EAN meta key then finds no product's EAN and quietly matches nothing. The shop is
asked (ShopPort.shop_capabilities) when the merchant comes back from installing or signing in
(plugin/web/auth.py: after the shop's key callback, which the shop waits on), and again once a
day from the shop poll (a shop gets upgraded; a shop installed before this was asked gets asked
at its first poll). The answer is kept on the shop row (`Shop.capabilities`).

Asking never fails the caller: a shop that does not answer (5xx, a blocked route, dead keys)
keeps what it said before, or stays unknown, which shows no hint; an unknown answer is asked
again after an hour, not at every poll.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from adapters.errors import AdapterError
from plugin.sync.context import SyncContext

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)            # what the shop said: asked again daily
UNKNOWN_MAX_AGE = timedelta(hours=1)   # the shop said nothing: again sooner, still not every poll


def detect_capabilities(ctx: SyncContext, shop_id: int) -> dict | None:
    """Ask the shop now and store the answer; the stored capabilities (None: no such shop, or
    a shop platform that cannot tell)."""
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        if shop is None:
            return None
        port = ctx.adapters.shop(shop)
        before = shop.capabilities
    ask = getattr(port, "shop_capabilities", None)
    if ask is None:             # a shop platform that cannot tell
        return before
    now = ctx.clock().isoformat()
    try:
        found = ask()
        said = {"version": found.version, "has_gtin": found.has_gtin}
    except AdapterError as exc:
        log.warning("shop %s: could not read what the shop has: %s", shop_id, exc)
        said = {"version": None, "has_gtin": None}
    if said["has_gtin"] is None and said["version"] is None and before:
        said = {"version": before.get("version"), "has_gtin": before.get("has_gtin")}   # keep what it said
    known = {**said, "checked_at": now}
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        if shop is not None:
            shop.capabilities = known
    return known


def refresh_capabilities(ctx: SyncContext, shop_id: int) -> dict | None:
    """detect_capabilities when the stored answer is older than MAX_AGE (UNKNOWN_MAX_AGE when
    the shop has not said whether it has the GTIN field), or missing."""
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        known = shop.capabilities if shop is not None else None
    checked = _checked_at(known)
    max_age = MAX_AGE if known and known.get("has_gtin") is not None else UNKNOWN_MAX_AGE
    if checked is not None and ctx.clock() - checked < max_age:
        return known
    return detect_capabilities(ctx, shop_id)


def gtin_missing(capabilities: dict | None) -> bool:
    """The shop said its products have no GTIN field (unknown is not missing)."""
    return bool(capabilities) and capabilities.get("has_gtin") is False


def gtin_matching_unavailable(capabilities: dict | None, settings: dict | None) -> bool:
    """Stock matching by the shop's GTIN field (EAN without an EAN meta key) on a shop without
    that field: stock sync matches nothing."""
    settings = settings or {}
    return (gtin_missing(capabilities) and settings.get("stock_match_by", "ean") == "ean"
            and not str(settings.get("ean_meta_key") or "").strip())


def shop_software(capabilities: dict | None) -> str:
    """"WooCommerce 7.8.2", or "this WooCommerce" when the version is not known."""
    version = (capabilities or {}).get("version")
    return f"WooCommerce {version}" if version else "this WooCommerce"


def _checked_at(capabilities: dict | None) -> datetime | None:
    """When the shop was last asked (aware); None if never or unreadable."""
    try:
        checked = datetime.fromisoformat(capabilities["checked_at"]) if capabilities else None
    except (KeyError, TypeError, ValueError):
        return None
    return checked if checked is not None and checked.tzinfo is not None else None
