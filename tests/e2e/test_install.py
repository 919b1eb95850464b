"""Installing orderbridge from the shop, as a merchant's browser does it: /install -> the shop's
wc-auth login and approval -> the shop POSTs keys to our callback -> we store them encrypted,
create and read back our webhooks -> the browser lands signed in on the settings page."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import func, select

from plugin.store import models
from plugin.sync.poll_shop import WEBHOOK_TOPICS
from tests.e2e.merchant_browser import Browser, parse


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.close()


def _shops(stack):
    with stack.ctx.db.session() as s:
        return list(s.scalars(select(models.Shop)))


def _our_webhooks(stack):
    hooks = stack.woo.get("/_sandbox/webhooks").json()
    return [h for h in hooks if h["delivery_url"].startswith(stack.app_url)]


def test_install_stores_encrypted_keys_creates_webhooks_and_signs_in(stack, browser):
    page = browser.install(stack.app_url, stack.woo_url)
    assert page.status_code == 200 and str(page.url).endswith("/admin/settings")
    assert "orderbridge is installed on your shop" in page.text
    [shop] = _shops(stack)
    assert shop.url == stack.woo_url and shop.status == "active" and shop.key_id
    keys = stack.ctx.box.open_json(shop.credentials)
    assert keys["consumer_key"].startswith("ck_") and keys["consumer_key"] not in shop.credentials
    hooks = _our_webhooks(stack)
    assert sorted(h["topic"] for h in hooks) == sorted(WEBHOOK_TOPICS)
    assert all(h["status"] == "active" and h["secret"] == stack.ctx.box.open(shop.webhook_secret) for h in hooks)
    # the keys the shop gave us work
    stack.ctx.adapters.shop(shop).check()


def test_reinstall_updates_the_keys_of_the_same_tenant_and_keeps_settings(stack, browser):
    browser.install(stack.app_url, stack.woo_url)
    [first] = _shops(stack)
    with stack.ctx.db.session() as s:
        s.get(models.Shop, first.id).settings = {**first.settings, "order_prefix": "BOL-"}
    again = Browser()
    try:
        page = again.install(stack.app_url, stack.woo_url)
    finally:
        again.close()
    assert str(page.url).endswith("/admin/settings")
    [shop] = _shops(stack)
    assert shop.id == first.id and shop.key_id != first.key_id
    assert shop.credentials != first.credentials and shop.settings["order_prefix"] == "BOL-"
    assert [r["key_id"] for r in shop.superseded_key_ids] == [first.key_id, shop.key_id]   # old and current
    assert len(_our_webhooks(stack)) == len(WEBHOOK_TOPICS)        # not a second set


def test_deny_changes_nothing(stack, browser):
    start = browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    page = browser.deny_in_shop(start)
    assert page.status_code == 400 and "did not approve" in page.text
    assert _shops(stack) == []
    assert browser.get(f"{stack.app_url}/admin/settings").url.path == "/signin"


def test_return_in_another_browser_does_not_sign_it_in(stack, browser):
    start = browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    form = parse(start.text).forms[0]
    logged_in = browser.go("POST", str(start.url),
                           data={**form["fields"], "username": "admin", "password": "admin", "login": "Login"})
    # Approve, but stop at the shop's redirect back to us: the shop has called our callback.
    back = browser.http.get(parse(logged_in.text).links["wc-auth-approve"])
    assert back.status_code == 302 and "/install/return" in back.headers["location"]
    stranger = Browser()
    try:
        landed = stranger.get(back.headers["location"])
        assert landed.status_code == 400 and "another browser" in landed.text
        assert stranger.get(f"{stack.app_url}/admin/settings").url.path == "/signin"
    finally:
        stranger.close()
    # the merchant's own browser gets in, once
    assert browser.get(back.headers["location"]).url.path == "/admin/settings"
    assert browser.get(back.headers["location"]).status_code == 400


def test_callback_refuses_forged_altered_and_replayed_tokens(stack, browser):
    body = {"key_id": 9, "user_id": "x", "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read_write"}
    forged = stack.app.post("/install/callback", json=body)
    assert forged.status_code == 401 and forged.json()["reason"]
    # a real token, altered by one character
    browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    token = httpx.URL(browser.history[0].headers["location"]).params["user_id"]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert stack.app.post("/install/callback", json={**body, "user_id": tampered}).status_code == 401
    # the real token with keys that do not work on the shop: refused, nothing stored
    refused = stack.app.post("/install/callback", json={**body, "user_id": token})
    assert refused.status_code == 400 and _shops(stack) == []
    # and that grant is spent: a replay with good keys is refused too
    key = stack.woo.post("/_sandbox/keys", json={"consumer_key": "ck_" + "c" * 40,
                                                 "consumer_secret": "cs_" + "d" * 40}).json()
    replay = stack.app.post("/install/callback", json={**body, "user_id": token, "key_id": key["key_id"],
                                                       "consumer_key": "ck_" + "c" * 40,
                                                       "consumer_secret": "cs_" + "d" * 40})
    assert replay.status_code == 400 and _shops(stack) == []


def test_malformed_callbacks_get_a_reason(stack):
    assert stack.app.post("/install/callback", content=b"not json",
                          headers={"Content-Type": "application/json"}).status_code == 400
    r = stack.app.post("/install/callback", json={"user_id": "x"})
    assert r.status_code == 400 and r.json()["reason"]


def test_expired_install_token_is_refused(stack):
    from plugin.web import tokens
    key = b"k" * 32
    token = tokens.make(key, "nonce", "install")
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.read(key, token, max_age=-1)
    with pytest.raises(tokens.InvalidToken):
        tokens.read(b"other key" * 4, token)
    assert tokens.read(key, token) == ("nonce", "install")


def test_sign_in_needs_the_shops_approval_and_rotates_the_key(stack, browser):
    browser.install(stack.app_url, stack.woo_url)
    [installed] = _shops(stack)
    other = Browser()
    try:
        signin = other.get(f"{stack.app_url}/signin")
        # knowing the URL is not enough: it only sends you to the shop's login
        at_shop = other.post_form(f"{stack.app_url}/signin", signin, {"store_url": stack.woo_url})
        assert at_shop.url.host == "127.0.0.1" and "wc-auth" in at_shop.url.path
        assert other.get(f"{stack.app_url}/admin/orders").url.path == "/signin"
        # a forged "success" on the return URL gets nobody in
        forged = other.get(f"{stack.app_url}/install/return", params={"success": "1", "user_id": "forged"})
        assert forged.status_code == 400
        # a wrong shop password gets nobody in
        form = parse(at_shop.text).forms[0]
        wrong = other.go("POST", str(at_shop.url), data={**form["fields"], "username": "admin",
                                                         "password": "guess", "login": "Login"})
        assert "wc-auth-approve" not in wrong.text
        assert other.get(f"{stack.app_url}/admin/orders").url.path == "/signin"
        landed = other.approve_in_shop(at_shop)
        assert landed.url.path == "/admin/orders"
    finally:
        other.close()
    [shop] = _shops(stack)
    assert shop.id == installed.id and shop.key_id != installed.key_id
    assert installed.key_id in [r["key_id"] for r in shop.superseded_key_ids]


def test_sign_in_for_a_shop_without_orderbridge_is_refused(stack, browser):
    page = browser.get(f"{stack.app_url}/signin")
    r = browser.post_form(f"{stack.app_url}/signin", page, {"store_url": stack.woo_url})
    assert r.status_code == 400 and "not installed" in r.text


def test_private_store_urls_are_refused_in_production_mode(stack):
    from plugin.registry import AdapterRegistry
    from plugin.sync.install import InstallError, start_grant
    prod = dataclasses.replace(stack.ctx.settings, allow_private_urls=False)
    ctx = dataclasses.replace(stack.ctx, settings=prod, adapters=AdapterRegistry(stack.ctx.box, prod))
    for url in (stack.woo_url, "http://10.1.2.3", "http://169.254.169.254/latest", "http://[::1]:8080",
                "http://0x7f000001"):
        with pytest.raises(InstallError, match="address|resolve"):
            start_grant(ctx, "install", url)
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.AuthGrant)) == 0


def test_bad_store_urls_get_a_clear_page(stack, browser):
    for bad in ("ftp://shop.example.com", "https://user:pw@shop.example.com", "https://shop.example.com/?a=1"):
        r = browser.get(f"{stack.app_url}/install", params={"store_url": bad})
        assert r.status_code == 400 and 'id="store_url-error"' in r.text, bad
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.AuthGrant)) == 0


def test_spent_and_expired_grants_are_purged_a_day_after_they_expire(stack, browser):
    from datetime import timedelta

    from plugin.sync.purge import purge_spent_grants
    browser.install(stack.app_url, stack.woo_url)                               # a used grant
    browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})  # a pending one
    at = lambda delta: dataclasses.replace(stack.ctx, clock=lambda: stack.ctx.clock() + delta)  # noqa: E731
    assert purge_spent_grants(at(timedelta(hours=2))) == 0        # expired, but kept a day
    assert purge_spent_grants(at(timedelta(days=1, minutes=20))) == 2
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.AuthGrant)) == 0
