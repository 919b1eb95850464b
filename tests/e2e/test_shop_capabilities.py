"""What the shop's software has decides what stock matching can work there: WooCommerce before
9.2 has no GTIN field, so the default "EAN (GTIN)" matching without an EAN custom field matches
nothing, silently. Installing on a shop reads its version and fields; the Settings page (where
the matching is chosen) and the Stock page say what to choose there, until it is chosen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.demo.stack import running_stack
from plugin.store import models
from plugin.sync.poll_shop import poll_shop
from sandbox.woocommerce.state import WooState
from tests.e2e.merchant_browser import Browser, parse

SYNC = {"stock_match_by": "ean", "ean_meta_key": "", "stock_reconcile_minutes": "10",
        "marketplace_cancellations": "on", "cancel_reason_code": "NOT_AVAIL_IN_TIME", "returns_poll_minutes": "30",
        "returns_action": "note", "return_handling_result": "EXCHANGE_PRODUCT"}


@pytest.fixture
def old_shop_stack(database_url):
    """The whole stack with the shop sandbox playing WooCommerce 7.8.2 (WordPress 6.1.9)."""
    with running_stack(outbox_retry_seconds=2, in_flight_seconds=3,
                       woo_state=WooState(wc_version="7.8.2", require_https_callback=False)) as s:
        yield s


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.close()


def _text(html: str, element_id: str) -> str | None:
    """The text of the element with this id (tags dropped, white space collapsed); None if absent."""
    match = re.search(rf'<p [^>]*id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else None


def _pages(stack, browser) -> tuple[str, str]:
    return (browser.get(f"{stack.app_url}/admin/settings").text, browser.get(f"{stack.app_url}/admin/stock").text)


def _shop(stack) -> models.Shop:
    with stack.ctx.db.session() as s:
        return s.scalar(select(models.Shop))


def _says_what_to_choose(hint: str | None) -> bool:
    return bool(hint) and "WooCommerce 7.8.2" in hint and "SKU" in hint and "EAN custom field" in hint


def test_on_woocommerce_7_8_settings_and_stock_say_to_match_by_sku_or_an_ean_field(old_shop_stack, browser):
    stack = old_shop_stack
    landed = browser.install(stack.app_url, stack.woo_url)
    assert str(landed.url).endswith("/admin/settings") and "orderbridge is installed" in landed.text
    assert _shop(stack).capabilities["version"] == "7.8.2" and _shop(stack).capabilities["has_gtin"] is False
    settings, stock = _pages(stack, browser)
    assert _says_what_to_choose(_text(settings, "gtin-unavailable")), _text(settings, "gtin-unavailable")
    assert _says_what_to_choose(_text(stock, "gtin-unavailable")), _text(stock, "gtin-unavailable")
    assert "WooCommerce 7.8.2" in _text(settings, "shop-software") and "no GTIN field" in _text(settings,
                                                                                                 "shop-software")
    # SKU matching chosen: the hint is gone from both pages, the shop's version is still shown
    page = browser.get(f"{stack.app_url}/admin/settings")
    saved = browser.post_form(f"{stack.app_url}/admin/settings/sync", page, {**SYNC, "stock_match_by": "sku"})
    assert saved.status_code == 200 and _shop(stack).settings["stock_match_by"] == "sku"
    settings, stock = _pages(stack, browser)
    assert _text(settings, "gtin-unavailable") is None and _text(stock, "gtin-unavailable") is None
    assert "WooCommerce 7.8.2" in _text(settings, "shop-software")
    # back to EAN with no custom field: said again; EAN with the custom field: gone
    browser.post_form(f"{stack.app_url}/admin/settings/sync", saved, SYNC)
    assert all(_says_what_to_choose(_text(p, "gtin-unavailable")) for p in _pages(stack, browser))
    saved = browser.post_form(f"{stack.app_url}/admin/settings/sync", saved, {**SYNC, "ean_meta_key": "_ean"})
    assert _shop(stack).settings["ean_meta_key"] == "_ean"
    assert all(_text(p, "gtin-unavailable") is None for p in _pages(stack, browser))


def test_on_woocommerce_9_9_nothing_to_choose(stack, browser):
    browser.install(stack.app_url, stack.woo_url)
    assert _shop(stack).capabilities["version"] == "9.9.5" and _shop(stack).capabilities["has_gtin"] is True
    settings, stock = _pages(stack, browser)
    assert _text(settings, "gtin-unavailable") is None and _text(stock, "gtin-unavailable") is None
    assert "WooCommerce 9.9.5, with WooCommerce's own GTIN field" in _text(settings, "shop-software")


def test_a_shop_that_will_not_say_still_installs_and_is_asked_again_by_the_poll(old_shop_stack, browser):
    """The shop answers nothing at the install (every REST call a 5xx): the install goes
    through, nothing is claimed (no hint); the shop poll asks again later and then says it."""
    stack = old_shop_stack
    start = browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    form = parse(start.text).forms[0]
    logged_in = browser.go("POST", str(start.url),
                           data={**form["fields"], "username": "admin", "password": "admin", "login": "Login"})
    back = browser.http.get(parse(logged_in.text).links["wc-auth-approve"])   # keys delivered, webhooks made
    assert back.status_code == 302 and "/install/return" in back.headers["location"]
    stack.woo.put("/_sandbox/faults", json={"error_rate": 1.0}).raise_for_status()
    try:
        landed = browser.get(back.headers["location"])
    finally:
        stack.woo.put("/_sandbox/faults", json={"error_rate": 0.0}).raise_for_status()
    assert landed.status_code == 200 and str(landed.url).endswith("/admin/settings")
    assert "orderbridge is installed" in landed.text
    shop = _shop(stack)
    assert shop.status == "active" and (shop.capabilities["version"], shop.capabilities["has_gtin"]) == (None, None)
    settings, stock = _pages(stack, browser)
    assert _text(settings, "gtin-unavailable") is None and _text(stock, "gtin-unavailable") is None
    assert _text(settings, "shop-software") is None
    # not asked again at every poll ...
    poll_shop(stack.ctx, shop.id)
    assert _shop(stack).capabilities["has_gtin"] is None
    # ... but once the unknown answer is over an hour old
    with stack.ctx.db.session() as s:
        row = s.get(models.Shop, shop.id)
        row.capabilities = {**row.capabilities,
                            "checked_at": (stack.ctx.clock() - timedelta(minutes=61)).isoformat()}
    poll_shop(stack.ctx, shop.id)
    assert (_shop(stack).capabilities["version"], _shop(stack).capabilities["has_gtin"]) == ("7.8.2", False)
    assert _says_what_to_choose(_text(browser.get(f"{stack.app_url}/admin/settings").text, "gtin-unavailable"))
