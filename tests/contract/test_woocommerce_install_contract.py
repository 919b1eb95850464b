"""WooCommerce app authorization (wc-auth) against the sandbox over loopback: the browser side
driven with httpx, the app side a small Flask callback receiver, and the adapter's install
helpers (authorize_url, AuthCallbackSchema, webhooks_for, remove_webhooks)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask, request

from adapters.errors import AuthError
from adapters.woocommerce import WooCommerceShop
from adapters.woocommerce.install import AuthCallbackSchema, authorize_url
from sandbox.serving import base_url, serve_app, stop_server
from tests.contract.conftest_woocommerce import (
    running_sandbox,
)

APP = "orderbridge"
USER_ID = "shop-7"


# ---------------------------------------------------------------------------- helpers
@dataclass
class App:
    """The app's side: POST /callback records WooCommerce's JSON and answers `status`;
    `on_callback` runs inside the callback (a real app checks the key there)."""

    url: str = ""
    status: int = 200
    received: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    on_callback: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def callback_url(self) -> str:
        return f"{self.url}/callback"

    @property
    def return_url(self) -> str:
        return f"{self.url}/shops/new?step=2"


@pytest.fixture
def app_side(woo_sandbox):
    # This receiver is plain http on loopback, which a real shop refuses: the sandbox's dev switch.
    woo_sandbox.state.require_https_callback = False
    side = App()
    flask_app = Flask("wc-auth-callback")

    @flask_app.post("/callback")
    def callback():
        with side.lock:
            side.received.append(request.get_json(force=True))
            side.headers.append(dict(request.headers))
        if side.on_callback is not None:
            side.on_callback(side.received[-1])
        return "", side.status

    server, thread = serve_app(flask_app, "127.0.0.1", 0, name="wc-auth-app")
    side.url = base_url(server)
    try:
        yield side
    finally:
        stop_server(server, thread)


class _Elements(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, **wanted) -> dict:
        for name, attrs in self.elements:
            if name == tag and all(attrs.get(k.rstrip("_")) == v for k, v in wanted.items()):
                return attrs
        raise AssertionError(f"no <{tag} {wanted}>")


def _start(sandbox, app_side, **overrides) -> str:
    params = {"app_name": APP, "user_id": USER_ID, "return_url": app_side.return_url,
              "callback_url": app_side.callback_url, **overrides}
    return authorize_url(sandbox.url, **params)


def _log_in(browser: httpx.Client, start: str, password: str = "admin") -> httpx.Response:
    """authorize -> login form -> POST; returns the answer to the POST."""
    to_login = browser.get(start)
    assert to_login.status_code == 302 and "/wc-auth/v1/login/?" in to_login.headers["location"]
    login_url = to_login.headers["location"]
    form = _Elements(browser.get(login_url).text)
    return browser.post(login_url, data={
        "username": "admin", "password": password, "login": "Login",
        "woocommerce-login-nonce": form.find("input", name="woocommerce-login-nonce")["value"],
        "redirect": form.find("input", name="redirect")["value"]})


def _approve(browser: httpx.Client, start: str) -> httpx.Response:
    grant = browser.get(start)
    assert grant.status_code == 200
    return browser.get(_Elements(grant.text).find("a", id="wc-auth-approve")["href"])


@pytest.fixture
def browser():
    with httpx.Client(follow_redirects=False, timeout=5) as client:
        yield client


# ---------------------------------------------------------------------------- the whole path
def test_authorize_login_approve_callback_then_redirect(woo_sandbox, app_side, browser):
    checked_during_callback = []
    app_side.on_callback = lambda data: checked_during_callback.append(
        WooCommerceShop(woo_sandbox.url, data["consumer_key"], data["consumer_secret"], timeout=2,
                        read_attempts=1, allow_private_hosts=True).check())
    start = _start(woo_sandbox, app_side, scope="read_write")

    # Logged out: the login form, WooCommerce's own fields, with labels.
    login_url = browser.get(start).headers["location"]
    assert parse_qs(urlsplit(login_url).query)["callback_url"] == [app_side.callback_url]
    page = browser.get(login_url)
    assert page.status_code == 200 and f"{APP} would like to connect to your store" in page.text
    form = _Elements(page.text)
    form.find("label", for_="username"), form.find("input", id="username", name="username")
    form.find("label", for_="password"), form.find("input", id="password", name="password", type="password")
    form.find("button", name="login", type="submit")

    wrong = _log_in(browser, start, password="nope")
    assert wrong.status_code == 200 and "is incorrect" in wrong.text and 'class="woocommerce-error"' in wrong.text
    assert "set-cookie" not in wrong.headers and not browser.cookies

    logged_in = _log_in(browser, start)
    assert logged_in.status_code == 302
    assert logged_in.headers["location"].startswith(f"{woo_sandbox.url}/wc-auth/v1/authorize/?")
    assert any(name.startswith("wordpress_logged_in_") for name in browser.cookies)
    assert browser.get(login_url).headers["location"].startswith(f"{woo_sandbox.url}/wc-auth/v1/authorize/")

    grant = browser.get(logged_in.headers["location"])
    assert grant.status_code == 200
    assert "Read/Write" in grant.text and "View and manage orders and sales reports" in grant.text
    links = _Elements(grant.text)
    deny = links.find("a", id="wc-auth-deny")["href"]
    assert deny == f"{app_side.return_url}&success=0&user_id={USER_ID}"
    approve = links.find("a", id="wc-auth-approve")["href"]
    assert "/wc-auth/v1/access_granted/?" in approve and "wc_auth_nonce=" in approve

    done = browser.get(approve)
    assert done.status_code == 302
    assert done.headers["location"] == f"{app_side.return_url}&success=1&user_id={USER_ID}"

    [data] = app_side.received
    assert set(data) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert data["user_id"] == USER_ID and data["key_permissions"] == "read_write"
    assert re.fullmatch(r"ck_[0-9a-f]{40}", data["consumer_key"])
    assert re.fullmatch(r"cs_[0-9a-f]{40}", data["consumer_secret"])
    assert app_side.headers[0]["Content-Type"].startswith("application/json")
    loaded = AuthCallbackSchema().load({**data, "extra": 1})
    assert loaded == data and "consumer_secret" not in AuthCallbackSchema().dump(loaded)
    assert checked_during_callback == [None]          # the key worked while the callback ran

    shop = WooCommerceShop(woo_sandbox.url, data["consumer_key"], data["consumer_secret"], timeout=2,
                           read_attempts=1, allow_private_hosts=True)
    shop.check()
    listed = woo_sandbox.control("GET", "keys").json()
    mine = next(k for k in listed if k["key_id"] == data["key_id"])
    assert mine["description"].startswith(f"{APP} - API (") and mine["permissions"] == "read_write"
    assert mine["truncated_key"] == data["consumer_key"][-7:] and mine["user_id"] == 1
    assert data["consumer_secret"] not in str(listed) and data["consumer_key"] not in str(listed)


def test_read_scope_key_cannot_write(woo_sandbox, app_side, browser):
    start = _start(woo_sandbox, app_side, scope="read")
    _log_in(browser, start)
    grant = browser.get(start)
    assert "<strong>Read</strong> access" in grant.text and "View products" in grant.text
    assert browser.get(_Elements(grant.text).find("a", id="wc-auth-approve")["href"]).status_code == 302
    key = app_side.received[0]
    assert key["key_permissions"] == "read"
    auth = (key["consumer_key"], key["consumer_secret"])
    assert httpx.get(f"{woo_sandbox.url}/wp-json/wc/v3/orders", auth=auth).status_code == 200
    denied = httpx.post(f"{woo_sandbox.url}/wp-json/wc/v3/orders", auth=auth, json={})
    assert denied.status_code == 401 and "does not have write permissions" in denied.text


def test_deny_goes_back_without_a_key(woo_sandbox, app_side, browser):
    start = _start(woo_sandbox, app_side)
    _log_in(browser, start)
    deny = _Elements(browser.get(start).text).find("a", id="wc-auth-deny")["href"]
    query = parse_qs(urlsplit(deny).query)
    assert query == {"step": ["2"], "success": ["0"], "user_id": [USER_ID]}
    assert app_side.received == [] and len(woo_sandbox.state.keys) == 1


def test_logout_link_ends_the_session(woo_sandbox, app_side, browser):
    start = _start(woo_sandbox, app_side)
    _log_in(browser, start)
    logout = _Elements(browser.get(start).text).find("a", **{"class": "wc-auth-logout"})["href"]
    gone = browser.get(logout)
    assert gone.status_code == 302 and "/wc-auth/v1/login/?" in gone.headers["location"]
    assert "/wc-auth/v1/login/?" in browser.get(start).headers["location"]


def test_wp_login_page_logs_in_too(woo_sandbox, app_side, browser):
    page = _Elements(browser.get(f"{woo_sandbox.url}/wp-login.php").text)
    page.find("label", for_="user_login"), page.find("input", id="user_login", name="log")
    page.find("label", for_="user_pass"), page.find("input", id="user_pass", name="pwd")
    page.find("input", id="wp-submit", type="submit")
    start = _start(woo_sandbox, app_side)
    bad = browser.post(f"{woo_sandbox.url}/wp-login.php", data={"log": "admin", "pwd": "x", "redirect_to": start})
    assert bad.status_code == 200 and 'id="login_error"' in bad.text and not browser.cookies
    good = browser.post(f"{woo_sandbox.url}/wp-login.php", data={"log": "admin", "pwd": "admin", "redirect_to": start})
    assert good.status_code == 302 and good.headers["location"] == start
    assert browser.get(start).status_code == 200


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("overrides, message", [
    ({"app_name": ""}, "Missing parameter app_name"),
    ({"user_id": ""}, "Missing parameter user_id"),
    ({"scope": "admin"}, "Invalid scope admin"),
    ({"return_url": "http://exa mple.com/back"}, "The http://exa mple.com/back is not a valid URL"),
    ({"callback_url": "https://"}, "The https:// is not a valid URL"),
])
def test_bad_params_are_an_error_page(woo_sandbox, app_side, browser, overrides, message):
    params = {"app_name": APP, "user_id": USER_ID, "return_url": app_side.return_url,
              "callback_url": app_side.callback_url, "scope": "read_write", **overrides}
    answer = browser.get(f"{woo_sandbox.url}/wc-auth/v1/authorize", params=params)
    assert answer.status_code == 401 and "<title>Access denied</title>" in answer.text
    assert f"Error: {message}" in answer.text


def test_unknown_route_and_access_granted_need_a_login_and_the_nonce(woo_sandbox, app_side, browser):
    start = _start(woo_sandbox, app_side)
    query = urlsplit(start).query
    for route in ("access_granted", "nonsense"):
        page = browser.get(f"{woo_sandbox.url}/wc-auth/v1/{route}/?{query}")
        assert page.status_code == 401 and "You do not have permission to access this page" in page.text
    _log_in(browser, start)
    forged = browser.get(f"{woo_sandbox.url}/wc-auth/v1/access_granted/?{query}&wc_auth_nonce=0123456789")
    assert forged.status_code == 401 and "Error: Invalid nonce verification." in forged.text
    assert app_side.received == [] and len(woo_sandbox.state.keys) == 1


def test_http_callback_is_refused_as_woocommerce_does_by_default(app_side, browser):
    with running_sandbox() as strict:                    # the sandbox's default, as every real shop
        refused = browser.get(_start(strict, app_side))
        assert refused.status_code == 401 and "Error: The callback_url needs to be over SSL." in refused.text
        upper = browser.get(_start(strict, app_side, callback_url="HTTPS://app.example/callback"))
        assert upper.status_code == 302                  # stripos(): the scheme's case does not matter



def test_failed_callback_deletes_the_key_and_shows_an_error(woo_sandbox, app_side, browser):
    app_side.status = 500
    start = _start(woo_sandbox, app_side)
    _log_in(browser, start)
    failed = _approve(browser, start)
    assert failed.status_code == 401
    assert "unable to send the consumer data." in failed.text
    [sent] = app_side.received                               # it was sent, then taken back
    assert [k["key_id"] for k in woo_sandbox.control("GET", "keys").json()] == [1]
    rest = httpx.get(f"{woo_sandbox.url}/wp-json/wc/v3/orders", auth=(sent["consumer_key"], sent["consumer_secret"]))
    assert rest.status_code == 401


def test_unsafe_callback_url_is_refused_when_enforced(woo_sandbox, app_side, browser):
    woo_sandbox.state.enforce_safe_urls = True                # loopback on an odd port: not allowed
    start = _start(woo_sandbox, app_side)
    _log_in(browser, start)
    failed = _approve(browser, start)
    assert failed.status_code == 401 and "A valid URL was not provided." in failed.text
    assert app_side.received == [] and len(woo_sandbox.state.keys) == 1


def test_revoked_key_is_refused_by_the_rest_api(woo_sandbox, app_side, browser):
    start = _start(woo_sandbox, app_side)
    _log_in(browser, start)
    assert _approve(browser, start).status_code == 302
    key = app_side.received[0]
    shop = WooCommerceShop(woo_sandbox.url, key["consumer_key"], key["consumer_secret"], timeout=2,
                           read_attempts=1, allow_private_hosts=True)
    shop.check()

    assert woo_sandbox.control("DELETE", f"keys/{key['key_id']}").json() == {"key_id": key["key_id"], "revoked": True}
    with pytest.raises(AuthError):
        shop.check()                                          # OAuth 1.0a over http: "Consumer key is invalid."
    basic = httpx.get(f"{woo_sandbox.url}/wp-json/wc/v3/orders", auth=(key["consumer_key"], key["consumer_secret"]))
    assert basic.status_code == 401 and basic.json()["code"] == "woocommerce_rest_cannot_view"
    assert httpx.delete(f"{woo_sandbox.url}/_sandbox/keys/{key['key_id']}").status_code == 404
    assert [k["key_id"] for k in woo_sandbox.control("GET", "keys").json()] == [1]


# ---------------------------------------------------------------------------- the adapter
def test_authorize_url_carries_the_five_params():
    url = authorize_url("https://shop.example/", app_name="orderbridge", user_id="42",
                        return_url="https://app.example/back", callback_url="https://app.example/cb")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://shop.example/wc-auth/v1/authorize"
    assert parse_qs(parts.query) == {"app_name": ["orderbridge"], "scope": ["read_write"], "user_id": ["42"],
                                     "return_url": ["https://app.example/back"],
                                     "callback_url": ["https://app.example/cb"]}
    with pytest.raises(ValueError):
        authorize_url("https://shop.example", app_name="a", user_id="1", return_url="https://a/b",
                      callback_url="https://a/c", scope="admin")


def test_callback_schema_refuses_what_woocommerce_never_sends():
    from marshmallow import ValidationError
    good = {"key_id": 3, "user_id": "7", "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read"}
    for bad in ({"consumer_key": "cs_x"}, {"consumer_secret": "ck_x"}, {"key_permissions": "admin"},
                {"key_id": "3"}, {"user_id": ""}):
        with pytest.raises(ValidationError):
            AuthCallbackSchema().load({**good, **bad})


def test_webhooks_for_and_remove_webhooks(woo_sandbox, woo_shop, receiver, monkeypatch):
    topics = ("order.updated", "order.created")
    ids = woo_shop.ensure_webhooks(receiver.url, "whsec_1", topics)
    other = woo_shop.ensure_webhooks(receiver.url + "-other", "whsec_1", ("order.updated",))
    woo_sandbox.state.webhooks[ids[1]].status = "paused"

    assert woo_shop.webhooks_for(receiver.url + "/") == [
        {"id": ids[0], "topic": "order.updated", "status": "active"},
        {"id": ids[1], "topic": "order.created", "status": "paused"}]

    # One of them disappears between the listing and its DELETE: a 404, not counted, no error.
    client, real_delete = woo_shop._client, woo_shop._client.delete

    def delete_racing(endpoint, params=None):
        if endpoint == f"webhooks/{ids[0]}":
            with woo_sandbox.state.lock:
                woo_sandbox.state.webhooks.pop(ids[0])
        return real_delete(endpoint, params)

    monkeypatch.setattr(client, "delete", delete_racing)
    assert woo_shop.remove_webhooks(receiver.url) == 1
    assert woo_shop.webhooks_for(receiver.url) == []
    assert woo_shop.remove_webhooks(receiver.url) == 0
    assert [w["id"] for w in woo_shop.webhooks_for(receiver.url + "-other")] == other
