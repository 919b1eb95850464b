"""Use case: disconnect a shop. The merchant asks for it (uninstall), or the shop itself refused
our API keys (401: the keys were revoked or the app removed in wp-admin).

A disconnected shop's jobs stop: the dispatcher no longer polls its connections or the shop and
no longer sweeps its bindings, shipments or webhook deliveries, and every job that still finds one
of its rows returns "shop disconnected" without touching it. Those rows stay in their open states
on purpose: a re-install (connect.register_shop sets the shop active again) resumes everything
exactly where it stopped, with the same look-up-before-retry guarantees. The shop's data is kept
for Settings.retention_days after the disconnection, then purged (plugin/sync/purge.py).
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.errors import AdapterError
from plugin.domain.lifecycles import ShopStatus
from plugin.sync.context import SyncContext
from plugin.sync.errors import ActionRefused
from plugin.sync.shop_webhooks import webhook_url

log = logging.getLogger(__name__)

DISCONNECTED = "shop disconnected"   # what a job returns when its row's shop is disconnected


def refused_keys_reason(exc: AdapterError) -> str:
    return f"the shop refused our API keys ({exc.status or 401}): reinstall the app"


def disconnect_shop(ctx: SyncContext, shop_id: int, reason: str, *, remove_webhooks: bool = True) -> None:
    """Stop all work for the shop, keep its data. Disconnecting twice keeps the first time and
    reason (retention counts from the first). `remove_webhooks`: delete our webhooks in the shop
    where possible; a failure to do so is recorded in the reason, the disconnection stands."""
    reason = (reason or "").strip() or "disconnected"
    with ctx.unit_of_work() as uow:
        shop = uow.shops.get(shop_id)
        if shop is None:
            raise ActionRefused(f"no shop with id {shop_id}")
        # compare-and-set: of two racing disconnections (two 401s, a click and a 401) one wins
        uow.shops.disconnect(shop_id, ctx.clock(), reason[:2000])
        port = ctx.adapters.shop(shop) if remove_webhooks else None
        url = webhook_url(ctx, shop)
    log.warning("shop %s disconnected: %s", shop_id, reason)
    if port is None:
        return
    try:
        removed = port.remove_webhooks(url)
    except AdapterError as exc:
        # "Where possible": the keys may already be dead. The merchant can delete them by hand;
        # until then their deliveries are recorded but not processed (process_delivery leaves
        # them for a re-install), and after 5 failed deliveries WooCommerce disables them itself.
        log.warning("shop %s: our webhooks could not be removed: %s", shop_id, exc)
        with ctx.unit_of_work() as uow:
            shop = uow.shops.get(shop_id)
            if shop is not None and shop.status == ShopStatus.DISCONNECTED:
                shop.disconnect_reason = (f"{shop.disconnect_reason}; our webhooks could not be removed ({exc}): "
                                          f"delete them under WooCommerce > Settings > Advanced > Webhooks")[:2000]
        return
    log.info("shop %s: %d webhooks removed", shop_id, removed)


def shop_refused_keys(ctx: SyncContext, shop_id: int, exc: AdapterError) -> str:
    """A shop call answered 401/403 (AuthError from the SHOP port): our keys are dead, so every
    further call would fail the same way. Disconnect (webhooks cannot be removed with dead keys);
    the caller leaves its own row retryable so a re-install resumes it. Returns the reason."""
    reason = refused_keys_reason(exc)
    disconnect_shop(ctx, shop_id, reason, remove_webhooks=False)
    return reason


def shop_active(shop: Any | None) -> bool:
    return shop is not None and shop.status == ShopStatus.ACTIVE
