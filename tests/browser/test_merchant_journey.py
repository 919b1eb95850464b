"""Everything a merchant does, in a real browser, against the running app, worker and sandboxes:
install from the sandbox shop, add a bol.com seller account, set transporter rules and try a code,
watch an order go Not shipped -> Shipped, hit an error and Resend, handle one manually,
disconnect. Also the phone-sized layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _install(page, stack):
    page.goto(f"{stack.app_url}/install")
    page.get_by_label("Shop address").fill(stack.woo_url)
    page.get_by_role("button", name="Install").click()
    # the shop's own wc-auth pages
    page.locator("#username").fill("admin")
    page.locator("#password").fill("admin")
    page.locator("button[name=login]").click()
    expect(page.get_by_text("would like to connect to your store")).to_be_visible()
    page.locator("#wc-auth-approve").click()
    expect(page).to_have_url(re.compile(r"/admin/settings"))


def _add_connection(page):
    page.locator("#add-connection").click()
    page.get_by_label("Name").fill("bol.com NL+BE")
    page.get_by_label("Client ID").fill("stack-seller")
    page.get_by_label("Client secret").fill("stack-seller-secret")
    page.get_by_label("Poll for new orders every (minutes)").fill("5")
    page.locator("#save-connection").click()
    expect(page.get_by_text("connection works")).to_be_visible()


def _set_transporters(page, default: str):
    page.get_by_label("Default transporter").fill(default)
    page.get_by_label("Pattern 1").fill("^JVGL")
    page.get_by_label("Transporter 1").fill("DHLFORYOU")
    page.get_by_label("Remove from code 1").fill("JVGL")
    page.locator("#save-transporters").click()
    expect(page.get_by_text("Transporter rules saved.")).to_be_visible()


def _order_row(page, stack, external_id: str):
    page.goto(f"{stack.app_url}/admin/orders?q={external_id}")
    return page.locator(f'tr[data-order="{external_id}"]')


def _wait_status(page, stack, external_id: str, label: str, timeout: float = 20.0):
    import time
    deadline = time.monotonic() + timeout
    while True:
        row = _order_row(page, stack, external_id)
        if row.count() and label in row.locator(".status").inner_text():
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{external_id} never showed {label!r}: {row.inner_text() if row.count() else 'absent'}")
        page.wait_for_timeout(300)


def _connection_id(stack) -> int:
    from sqlalchemy import select

    from plugin.store import models
    with stack.ctx.db.session() as s:
        return s.scalar(select(models.Connection.id))


def _shop_order_id(stack, external_id: str) -> int:
    orders = stack.wait_for(lambda: stack.shop_orders_by_external().get(external_id), what="order in the shop")
    return orders[0]["id"]


def test_the_merchants_journey(stack, page, shoot):
    _install(page, stack)
    expect(page.get_by_text("orderbridge is installed on your shop")).to_be_visible()
    shoot(page, "01-settings-after-install")

    [first] = stack.seed(1)             # waiting on bol.com before the account is connected
    _add_connection(page)
    expect(page.get_by_text("fetching its open orders now")).to_be_visible()
    shoot(page, "02-connection-added")

    _set_transporters(page, "TNT")
    page.get_by_label("Try a tracking code").fill("JVGL0012345")
    page.locator("#try-button").click()
    expect(page.locator("#try-result")).to_contain_text("DHLFORYOU, code sent: 0012345")
    shoot(page, "03-transporter-rules")

    # the new connection fetched it at once (no poll by hand): Not shipped; the merchant ships it
    stack.connection_id = _connection_id(stack)
    _wait_status(page, stack, first, "Not shipped")
    shoot(page, "04-orders-not-shipped")
    stack.complete(_shop_order_id(stack, first), "PostNL", "3SJOURNEY0001")
    _wait_status(page, stack, first, "Shipped")
    expect(page.locator("#tab-shipped .count")).to_have_text("1")
    page.locator(f'tr[data-order="{first}"] a').first.click()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#timeline")).to_contain_text("marketplace confirmed the shipment")
    shoot(page, "05-order-shipped")
    assert [s["body"]["transport"]["trackAndTrace"] for s in stack.shipments()] == ["3SJOURNEY0001"]

    # an error: no rule or default transporter for this carrier; fix the rules, then Resend
    page.goto(f"{stack.app_url}/admin/settings")
    page.get_by_label("Default transporter").fill("")
    page.locator("#save-transporters").click()
    expect(page.locator("#no-default-transporter")).to_be_visible()
    [second] = stack.seed(1)
    stack.poll()
    _wait_status(page, stack, second, "Not shipped")
    stack.complete(_shop_order_id(stack, second), "Mystery Parcels", "MP-000042")
    _wait_status(page, stack, second, "Error")
    expect(page.locator("#tab-errors .count")).to_have_text("1")
    shoot(page, "06-orders-error")
    page.goto(f"{stack.app_url}/admin/settings")
    page.get_by_label("Default transporter").fill("OTHER")
    page.locator("#save-transporters").click()
    row = _order_row(page, stack, second)
    row.locator("a").first.click()
    expect(page.locator("#order-error")).to_contain_text("no transporter")
    shoot(page, "07-order-error")
    page.locator("#resend").click()
    expect(page.get_by_text("Resend:")).to_be_visible()
    _wait_status(page, stack, second, "Shipped")
    stack.wait_for(lambda: len([s for s in stack.shipments() if s["status"] == "SUCCESS"]) == 2, what="2 shipments")
    sent = {s["body"]["transport"]["trackAndTrace"]: s["body"]["transport"]["transporterCode"]
            for s in stack.shipments()}
    assert sent == {"3SJOURNEY0001": "TNT", "MP-000042": "OTHER"}

    # handle one manually: it leaves orderbridge's hands
    [third] = stack.seed(1)
    stack.poll()
    _wait_status(page, stack, third, "Not shipped").locator("a").first.click()
    page.get_by_label("Handle manually: reason").fill("sent by hand from the warehouse")
    page.locator("#handle-manually").click()
    expect(page.locator("#order-status")).to_have_text("Handled manually")
    shoot(page, "08-order-manual")

    page.goto(f"{stack.app_url}/admin/billing")
    expect(page.locator("#billing")).to_contain_text("bol.com NL+BE")
    shoot(page, "09-billing")

    # disconnect: the shop's webhooks are removed, the admin says so
    page.goto(f"{stack.app_url}/admin/settings")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#disconnect-button").click()
    expect(page.get_by_text("This shop is disconnected")).to_be_visible()
    shoot(page, "10-disconnected")
    hooks = [h for h in stack.woo.get("/_sandbox/webhooks").json() if h["delivery_url"].startswith(stack.app_url)]
    assert hooks == []


def test_bad_settings_show_messages_next_to_the_fields_and_save_nothing(stack, page, shoot):
    _install(page, stack)
    page.get_by_label("Track & trace grace period (hours)").fill("-3")
    page.get_by_label("Shop safety-net poll (minutes)").fill("soon")
    page.locator("#save-general").click()
    expect(page.locator("#grace_hours-error")).to_be_visible()
    expect(page.locator("#shop_poll_minutes-error")).to_be_visible()
    expect(page.get_by_label("Track & trace grace period (hours)")).to_have_attribute("aria-invalid", "true")
    shoot(page, "11-settings-errors")
    page.goto(f"{stack.app_url}/admin/settings")
    expect(page.get_by_label("Track & trace grace period (hours)")).to_have_value("3")   # the default, unchanged


def test_sign_in_later_and_the_phone_layout(stack, chromium, page, shoot):
    _install(page, stack)
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        p = phone.new_page()
        p.goto(f"{stack.app_url}/admin/orders")
        expect(p).to_have_url(re.compile(r"/signin"))
        shoot(p, "12-phone-signin")
        p.get_by_label("Shop address").fill(stack.woo_url)
        p.get_by_role("button", name="Sign in").click()
        p.locator("#username").fill("admin")
        p.locator("#password").fill("admin")
        p.locator("button[name=login]").click()
        p.locator("#wc-auth-approve").click()
        expect(p).to_have_url(re.compile(r"/admin/orders"))
        expect(p.locator("#tab-all")).to_be_visible()
        shoot(p, "13-phone-orders")
        width = p.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the orders page scrolls sideways on a phone ({width}px)"
    finally:
        phone.close()


def test_stock_sync_switched_on_in_the_browser(stack, page, shoot):
    from tests.e2e.sandbox_helpers import add_offers, add_products, ean, offer_amounts, set_shop_stock
    _install(page, stack)
    _add_connection(page)
    [product, unlisted] = add_products(stack, [{"sku": "SKU-BROWSER", "ean": ean(7), "stock": 5},
                                               {"sku": "SKU-NOT-ON-BOL", "ean": ean(8), "stock": 2}])
    add_offers(stack, [{"ean": ean(7), "reference": "SKU-BROWSER", "stock": 0}])
    page.goto(f"{stack.app_url}/admin/stock")
    expect(page.locator("#stock-off")).to_be_visible()
    page.goto(f"{stack.app_url}/admin/settings")
    page.locator("#stock_sync").check()
    page.locator("#save-general").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    page.get_by_label("Match shop products to marketplace offers by").select_option("ean")
    page.locator("#save-sync").click()
    expect(page.get_by_text("Stock, cancellation and return settings saved.")).to_be_visible()
    set_shop_stock(stack, product["id"], 12)
    set_shop_stock(stack, unlisted["id"], 3)
    stack.wait_for(lambda: offer_amounts(stack)[ean(7)] == 12, what="bol offer stock 12")
    page.goto(f"{stack.app_url}/admin/stock")
    row = page.locator(f'tr[data-product="{product["id"]}"]')
    expect(row.locator(".status")).to_have_text("Sent")
    expect(row.locator(".last-amount")).to_have_text("12")
    page.goto(f"{stack.app_url}/admin/stock?tab=skipped")
    expect(page.locator(f'tr[data-product="{unlisted["id"]}"] .status')).to_have_text("Skipped")
    page.goto(f"{stack.app_url}/admin/stock")
    shoot(page, "14-stock")
    page.goto(f"{stack.app_url}/admin/returns")
    shoot(page, "15-returns")
