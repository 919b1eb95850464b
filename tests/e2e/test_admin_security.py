"""The admin's guarantees: CSRF on every form, cookie flags, and tenant isolation — signed in
as shop A, every admin URL aimed at shop B's ids answers 404/403 and changes nothing."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from sqlalchemy import func, select

from plugin.store import models
from plugin.sync.connect import add_connection, register_shop
from tests.e2e.merchant_browser import Browser

OTHER_SELLER = ("other-seller", "other-seller-secret")
OTHER_KEYS = ("ck_other" + "0" * 32, "cs_other" + "0" * 32)


@pytest.fixture
def merchant(stack):
    browser = Browser()
    browser.install(stack.app_url, stack.woo_url)
    yield browser
    browser.close()


@pytest.fixture
def shop_b(stack):
    """A second tenant with a connection and an order, in its own sandbox shop."""
    from sandbox.woocommerce.server import serve, stop
    from sandbox.woocommerce.state import WooState
    state = WooState(seed=5)
    server, thread = serve("127.0.0.1", 0, state)
    url = f"http://127.0.0.1:{server.server_port}"
    state.add_key(*OTHER_KEYS)
    stack.bol.post("/_sandbox/sellers", json={"client_id": OTHER_SELLER[0], "client_secret": OTHER_SELLER[1]})
    shop_id = register_shop(stack.ctx, {"name": "Shop B", "url": url, "consumer_key": OTHER_KEYS[0],
                                        "consumer_secret": OTHER_KEYS[1],
                                        "settings": {"transporters": {"default": "TNT"}}})
    conn_id = add_connection(stack.ctx, shop_id, {
        "marketplace": "bol", "name": "B seller", "credentials": {"client_id": OTHER_SELLER[0],
                                                                  "client_secret": OTHER_SELLER[1]},
        "api_url": stack.bol_url, "token_url": stack.bol_url + "/token"})
    [ext] = stack.bol.post("/_sandbox/orders", json={"client_id": OTHER_SELLER[0], "count": 1}).json()["order_ids"]
    stack.ctx.queue.poll_connection(conn_id)
    order_id = stack.wait_for(lambda: _order_id(stack, shop_id, ext), what="shop B's order")
    state.wait_for_deliveries(10)      # B's own order.created webhook is in before the snapshot
    with stack.ctx.db.session() as s:  # one of B's products linked to its offer, in Error (Resend-able)
        link = models.OfferLink(connection_id=conn_id, shop_product_id=1, sku="B-1", ean="8700000000001",
                                match_key="B-1", offer_id="b-offer", listed=True, stock_status="error")
        s.add(link)
        s.flush()
        link_id = link.id
    yield {"shop_id": shop_id, "connection_id": conn_id, "order_id": order_id, "external_id": ext,
           "link_id": link_id}
    stop(server, thread)


def _order_id(stack, shop_id, ext):
    with stack.ctx.db.session() as s:
        order = s.scalar(select(models.Order).where(models.Order.shop_id == shop_id, models.Order.external_id == ext))
        binding = order and s.scalar(select(models.Binding).where(models.Binding.order_id == order.id))
        return order.id if binding and binding.state == "created" else None


def _snapshot(stack, shop_id: int):
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        rows = [(c.id, c.name, c.enabled, c.credentials, c.poll_seconds) for c in
                s.scalars(select(models.Connection).where(models.Connection.shop_id == shop_id))]
        # what the attacks could change; not `version`, which shop B's own webhooks move
        orders = [(o.id, o.status, o.error, o.manual_reason) for o in
                  s.scalars(select(models.Order).where(models.Order.shop_id == shop_id))]
        bindings = [(b.id, b.state, b.attempts) for b in
                    s.scalars(select(models.Binding).where(models.Binding.shop_id == shop_id))]
        connection_ids = [row[0] for row in rows]
        stock = s.scalar(select(func.count()).select_from(models.StockUpdate)
                         .where(models.StockUpdate.connection_id.in_(connection_ids)))
        return (shop.status, shop.settings, shop.credentials, rows, orders, bindings, stock)


def test_every_admin_url_of_another_shop_is_not_found_and_changes_nothing(stack, merchant, shop_b):
    from plugin.web import create_app
    ids = {"order_id": shop_b["order_id"], "connection_id": shop_b["connection_id"], "link_id": shop_b["link_id"]}
    before = _snapshot(stack, shop_b["shop_id"])
    page = merchant.get(f"{stack.app_url}/admin/settings")
    tried = []
    for rule in create_app(stack.ctx.settings, context=stack.ctx).url_map.iter_rules():
        if not rule.rule.startswith("/admin") or not rule.arguments:
            continue
        assert rule.arguments <= set(ids), f"{rule.rule}: add its id to this test"
        path = rule.rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"reason": "not yours", "name": "hijack", "poll_minutes": "1", "enabled": "on",
                    "cred_client_id": "x", "cred_client_secret": "y"}
            r = (merchant.http.get(f"{stack.app_url}{path}") if method == "GET" else
                 merchant.http.post(f"{stack.app_url}{path}", data={"csrf_token": merchant.csrf(page), **data}))
            assert r.status_code in (403, 404), f"{method} {path} -> {r.status_code}"
            tried.append(f"{method} {path}")
    assert len(tried) >= 8, tried
    assert _snapshot(stack, shop_b["shop_id"]) == before
    # nor does B's order show in A's lists, searches or counts
    listing = merchant.get(f"{stack.app_url}/admin/orders", params={"q": shop_b["external_id"]})
    assert f'data-order="{shop_b["external_id"]}"' not in listing.text and "No orders here" in listing.text
    assert merchant.get(f"{stack.app_url}/admin/orders/counts.json").json()["all"] == 0


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(stack, merchant):
    [shop] = _shops(stack)
    page = merchant.get(f"{stack.app_url}/admin/settings")
    good = {"shop_poll_minutes": "7", "grace_hours": "2", "completed_statuses": "completed",
            "new_order_status": "processing"}
    for token in (None, "", "forged-token"):
        data = dict(good) if token is None else {**good, "csrf_token": token}
        r = merchant.http.post(f"{stack.app_url}/admin/settings/general", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    assert _shops(stack)[0].settings == shop.settings
    ok = merchant.post_form(f"{stack.app_url}/admin/settings/general", page, good)
    assert ok.status_code == 200 and _shops(stack)[0].settings["shop_poll_seconds"] == 420
    # another site's page posting into our admin carries no session at all (SameSite=Lax), and
    # even with one it has no token: the disconnect button is out of its reach
    r = httpx.post(f"{stack.app_url}/admin/disconnect", data={})
    assert r.status_code in (401, 403)
    assert _shops(stack)[0].status == "active"


def test_session_cookie_flags(stack):
    from plugin.web import create_app
    for production in (False, True):
        settings = dataclasses.replace(stack.ctx.settings, env="production" if production else "development")
        client = create_app(settings, context=stack.ctx).test_client()
        cookie = client.get("/signin").headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is production


def test_admin_pages_need_a_signed_in_shop(stack):
    r = httpx.get(f"{stack.app_url}/admin/orders")
    assert r.status_code == 302 and r.headers["location"].startswith("/signin")
    assert httpx.get(f"{stack.app_url}/admin/orders/counts.json").status_code == 401
    r = httpx.get(f"{stack.app_url}/admin/orders", cookies={"orderbridge_session": "forged.value.sig"})
    assert r.status_code == 302


def test_settings_validation_saves_nothing_and_says_why(stack, merchant):
    [shop] = _shops(stack)
    page = merchant.get(f"{stack.app_url}/admin/settings")
    r = merchant.post_form(f"{stack.app_url}/admin/settings/general", page, {
        "shop_poll_minutes": "0", "grace_hours": "abc", "new_order_status": "shipped"})
    assert r.status_code == 400
    for field in ("shop_poll_minutes", "grace_hours", "completed_statuses", "new_order_status"):
        assert f'id="{field}-error"' in r.text, field
    r = merchant.post_form(f"{stack.app_url}/admin/settings/transporters", page, {
        "default": "NOPE", "rule_pattern": "([", "rule_transporter": "TNT", "rule_strip": ""})
    assert r.status_code == 400
    assert re.search(r'id="transporters-default-error"[^>]*>unknown transporter code', r.text)
    assert 'id="transporters-rules-0-pattern-error"' in r.text
    assert _shops(stack)[0].settings == shop.settings


def _shops(stack):
    with stack.ctx.db.session() as s:
        return list(s.scalars(select(models.Shop).order_by(models.Shop.id)))
