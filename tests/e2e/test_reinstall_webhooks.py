"""After a re-install (or the safety-net poll), the shop's webhooks to us start with a clean
failure count. WooCommerce counts failed deliveries per webhook, disables it at the first failure
while the count is above 5, and only a successful delivery resets the count; setting a webhook
active again does not. While a shop is disconnected we answer its deliveries 404."""

from __future__ import annotations

from plugin.store import models
from plugin.sync.disconnect import disconnect_shop
from plugin.sync.poll_shop import poll_shop
from tests.e2e.merchant_browser import Browser

TOPIC = "product.updated"


def _install(stack) -> int:
    browser = Browser()
    try:
        page = browser.install(stack.app_url, stack.woo_url)
    finally:
        browser.close()
    assert str(page.url).endswith("/admin/settings")
    with stack.ctx.db.session() as s:
        [shop] = s.query(models.Shop).all()
        return shop.id


def _hook(stack) -> dict:
    [hook] = [h for h in stack.woo.get("/_sandbox/webhooks").json()
              if h["delivery_url"].startswith(stack.app_url) and h["topic"] == TOPIC]
    return hook


class Deliveries:
    """The merchant changing a product's stock in wp-admin: one product.updated delivery each."""

    def __init__(self, stack):
        self.stack = stack
        [product] = stack.woo.post("/_sandbox/products", json=[{
            "name": "Mug", "sku": "MUG-1", "manage_stock": True, "stock_quantity": 10}]).json()
        self.product_id, self.quantity = product["id"], 10

    def one(self) -> dict:
        self.quantity += 1
        self.stack.woo.post(f"/_sandbox/products/{self.product_id}/stock",
                            json={"stock_quantity": self.quantity}).raise_for_status()
        assert self.stack.woo_state.wait_for_deliveries(10)
        return self.stack.deliveries()[-1]

    def failing(self, count: int) -> None:
        """Deliveries that do not reach us, as when our host is down: the shop's WordPress refuses
        our loopback URL before sending a byte (wp_http_validate_url), a failure WooCommerce counts
        like a timeout. (A tiny timeout instead raced a fast loopback answer on a busy machine.)"""
        state = self.stack.woo_state
        saved, state.enforce_safe_urls = state.enforce_safe_urls, True
        try:
            for _ in range(count):
                assert self.one()["success"] is False
        finally:
            state.enforce_safe_urls = saved


def test_reinstall_after_a_disconnection_leaves_webhooks_that_survive_a_failure(stack):
    shop_id = _install(stack)
    deliveries = Deliveries(stack)
    assert deliveries.one()["status_code"] == 200
    # the shop refuses our keys: disconnected, our webhooks stay in the shop (cannot be removed)
    disconnect_shop(stack.ctx, shop_id, "the shop refused our API keys (401): reinstall the app",
                    remove_webhooks=False)
    for _ in range(7):                                   # each answered 404; the 7th disables it
        assert deliveries.one()["status_code"] == 404
    before = _hook(stack)
    assert before["status"] == "disabled" and before["failure_count"] == 6

    _install(stack)                                      # the merchant re-installs
    after = _hook(stack)
    assert after["status"] == "active" and after["failure_count"] == 0
    assert after["id"] != before["id"]                   # a new webhook, the old one deleted
    ours = [h for h in stack.woo.get("/_sandbox/webhooks").json() if h["delivery_url"].startswith(stack.app_url)]
    assert len(ours) == 4 and all(h["status"] == "active" and h["failure_count"] == 0 for h in ours)

    deliveries.failing(1)                                # one failure must not disable it
    hook = _hook(stack)
    assert hook["status"] == "active" and hook["failure_count"] == 1
    assert deliveries.one()["status_code"] == 200        # and deliveries reach us again


def test_reinstall_after_failures_that_did_not_disable_yet_resets_the_count_too(stack):
    shop_id = _install(stack)
    deliveries = Deliveries(stack)
    disconnect_shop(stack.ctx, shop_id, "the shop refused our API keys (401): reinstall the app",
                    remove_webhooks=False)
    for _ in range(6):
        assert deliveries.one()["status_code"] == 404
    assert _hook(stack)["status"] == "active" and _hook(stack)["failure_count"] == 6
    _install(stack)
    assert _hook(stack)["failure_count"] == 0
    deliveries.failing(1)
    assert _hook(stack)["status"] == "active"


def test_the_safety_net_poll_replaces_a_disabled_webhook_instead_of_re_activating_it(stack):
    shop_id = _install(stack)
    deliveries = Deliveries(stack)
    deliveries.failing(7)                                # our host was unreachable for a while
    before = _hook(stack)
    assert before["status"] == "disabled" and before["failure_count"] == 6

    poll_shop(stack.ctx, shop_id)
    after = _hook(stack)
    assert after["status"] == "active" and after["failure_count"] == 0 and after["id"] != before["id"]
    assert len([h for h in stack.woo.get("/_sandbox/webhooks").json() if h["topic"] == TOPIC]) == 1

    deliveries.failing(1)
    assert _hook(stack)["status"] == "active"
    assert deliveries.one()["status_code"] == 200
