"""The settings forms for stock, cancellations and returns, and a connection's stock buffer:
valid input is stored in the shop's units, bad input is refused next to its field and changes
nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.store import models
from tests.e2e.merchant_browser import Browser


@pytest.fixture
def merchant(stack):
    browser = Browser()
    browser.install(stack.app_url, stack.woo_url)
    yield browser
    browser.close()


def _shop(stack) -> models.Shop:
    with stack.ctx.db.session() as s:
        return s.scalar(select(models.Shop))


GOOD = {"stock_match_by": "sku", "ean_meta_key": "_ean", "stock_reconcile_minutes": "10",
        "marketplace_cancellations": "on", "cancel_reason_code": "NOT_AVAIL_IN_TIME", "returns_poll_minutes": "30",
        "returns_action": "refund", "return_handling_result": "EXCHANGE_PRODUCT"}


def test_sync_settings_are_stored(stack, merchant):
    page = merchant.get(f"{stack.app_url}/admin/settings")
    r = merchant.post_form(f"{stack.app_url}/admin/settings/sync", page, GOOD)
    assert r.status_code == 200 and "settings saved" in r.text
    s = _shop(stack).settings
    assert (s["stock_match_by"], s["ean_meta_key"], s["stock_reconcile_seconds"], s["marketplace_cancellations"],
            s["cancel_reason_code"], s["returns_poll_seconds"], s["returns_action"], s["return_handling_result"]) == (
        "sku", "_ean", 600, True, "NOT_AVAIL_IN_TIME", 1800, "refund", "EXCHANGE_PRODUCT")
    # unticking the box is an answer too
    r = merchant.post_form(f"{stack.app_url}/admin/settings/sync", r, {**GOOD, "marketplace_cancellations": ""})
    assert _shop(stack).settings["marketplace_cancellations"] is False


@pytest.mark.parametrize("field, value", [
    ("cancel_reason_code", "BECAUSE"), ("return_handling_result", "KEEP_IT"), ("stock_match_by", "colour"),
    ("stock_reconcile_minutes", "0"), ("returns_poll_minutes", "often"), ("ean_meta_key", "bad key!"),
    ("returns_action", "burn"),
])
def test_bad_sync_settings_are_refused_next_to_the_field(stack, merchant, field, value):
    before = _shop(stack).settings
    page = merchant.get(f"{stack.app_url}/admin/settings")
    r = merchant.post_form(f"{stack.app_url}/admin/settings/sync", page, {**GOOD, field: value})
    assert r.status_code == 400 and f'id="{field}-error"' in r.text
    assert _shop(stack).settings == before


def test_a_connections_stock_buffer(stack, merchant):
    page = merchant.get(f"{stack.app_url}/admin/connections/new?marketplace=bol")
    form = {"marketplace": "bol", "name": "bol", "cred_client_id": "stack-seller",
            "cred_client_secret": "stack-seller-secret", "poll_minutes": "5", "enabled": "on",
            "api_url": stack.bol_url, "token_url": stack.bol_url + "/token"}
    bad = merchant.post_form(f"{stack.app_url}/admin/connections", page, {**form, "stock_buffer": "-2"})
    assert bad.status_code == 400 and 'id="stock_buffer-error"' in bad.text
    with stack.ctx.db.session() as s:
        assert s.scalar(select(models.Connection)) is None
    ok = merchant.post_form(f"{stack.app_url}/admin/connections", page, {**form, "stock_buffer": "3"})
    assert ok.status_code == 200
    with stack.ctx.db.session() as s:
        conn = s.scalar(select(models.Connection))
        assert conn.settings["stock_buffer"] == 3 and conn.settings["api_url"] == stack.bol_url


def test_switching_stock_sync_on_reconciles_at_once(stack, merchant):
    from datetime import timedelta
    stack.connect()
    later = stack.ctx.clock() + timedelta(hours=1)
    with stack.ctx.db.session() as s:
        s.get(models.Connection, stack.connection_id).stock_reconcile_at = later
    page = merchant.get(f"{stack.app_url}/admin/settings")
    form = {"shop_poll_minutes": "5", "grace_hours": "1", "completed_statuses": "completed",
            "new_order_status": "processing", "stock_sync": "on"}
    assert merchant.post_form(f"{stack.app_url}/admin/settings/general", page, form).status_code == 200
    with stack.ctx.db.session() as s:
        assert s.get(models.Connection, stack.connection_id).stock_reconcile_at is None
