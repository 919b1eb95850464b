"""Where a shop delivers its webhooks to us, and which topics we subscribe to: one place for
connect (creates them, anew after a disconnection), poll_shop (replaces disabled ones) and
disconnect (removes them)."""

from __future__ import annotations

from typing import Any

from plugin.sync.context import SyncContext

WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")


def webhook_url(ctx: SyncContext, shop: Any) -> str:
    return f"{ctx.settings.public_url}/webhooks/woocommerce/{shop.public_id}"
