"""A shorter interval applies at once: the merchant set the returns poll from hourly to a minute
and the next returns poll still came at the old hourly slot. Through the settings forms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.store import models
from tests.e2e.merchant_browser import Browser

pytestmark = pytest.mark.e2e

SYNC = {"stock_match_by": "sku", "ean_meta_key": "", "stock_reconcile_minutes": "60",
        "marketplace_cancellations": "on", "cancel_reason_code": "NOT_AVAIL_IN_TIME", "returns_poll_minutes": "60",
        "returns_action": "note", "return_handling_result": "RETURN_RECEIVED"}
GENERAL = {"shop_poll_minutes": "60", "grace_hours": "1", "completed_statuses": "completed",
           "new_order_status": "processing"}
HOUR = timedelta(hours=1)


@pytest.fixture
def merchant(stack):
    browser = Browser()
    browser.install(stack.app_url, stack.woo_url)
    yield browser
    browser.close()


def _post(stack, merchant, path: str, form: dict) -> None:
    page = merchant.get(f"{stack.app_url}/admin/settings")
    r = merchant.post_form(f"{stack.app_url}{path}", page, form)
    assert r.status_code == 200 and "saved" in r.text


def _connection(stack) -> models.Connection:
    with stack.ctx.db.session() as s:
        return s.get(models.Connection, stack.connection_id)


def _hourly_and_an_hour_away(stack, merchant):
    stack.connect(poll_seconds=3600)
    _post(stack, merchant, "/admin/settings/sync", SYNC)
    _post(stack, merchant, "/admin/settings/general", GENERAL)
    later = stack.ctx.clock() + HOUR
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
        conn.returns_poll_at = conn.stock_reconcile_at = conn.next_poll_at = later
        s.get(models.Shop, stack.shop_id).next_poll_at = later
    return later


def test_a_shorter_returns_poll_and_stock_reconcile_interval_apply_at_once(stack, merchant):
    _hourly_and_an_hour_away(stack, merchant)
    _post(stack, merchant, "/admin/settings/sync", {**SYNC, "returns_poll_minutes": "1", "stock_reconcile_minutes": "1"})
    now = stack.ctx.clock()
    conn = _connection(stack)
    assert conn.returns_poll_at - now <= timedelta(minutes=1), "the next returns poll waits for the hourly slot"
    assert conn.stock_reconcile_at - now <= timedelta(minutes=1)


def test_a_shorter_shop_poll_interval_applies_at_once(stack, merchant):
    _hourly_and_an_hour_away(stack, merchant)
    _post(stack, merchant, "/admin/settings/general", {**GENERAL, "shop_poll_minutes": "1"})
    with stack.ctx.db.session() as s:
        assert s.get(models.Shop, stack.shop_id).next_poll_at - stack.ctx.clock() <= timedelta(minutes=1)


def test_a_shorter_connection_poll_interval_applies_at_once(stack, merchant):
    from plugin.demo.stack import SELLER
    _hourly_and_an_hour_away(stack, merchant)
    page = merchant.get(f"{stack.app_url}/admin/connections/{stack.connection_id}")
    r = merchant.post_form(f"{stack.app_url}/admin/connections/{stack.connection_id}", page, {
        "name": "Stack seller", "cred_client_id": SELLER[0], "poll_minutes": "1", "enabled": "on",
        "api_url": stack.bol_url, "token_url": stack.bol_url + "/token", "stock_buffer": "0"})
    assert r.status_code == 200
    conn = _connection(stack)
    assert conn.poll_seconds == 60 and conn.next_poll_at - stack.ctx.clock() <= timedelta(minutes=1)


def test_a_longer_interval_keeps_the_slot_already_set(stack, merchant):
    """Longer: the next run stays when it was (the one after it follows the new interval)."""
    stack.connect()
    _post(stack, merchant, "/admin/settings/sync", {**SYNC, "returns_poll_minutes": "1"})
    soon = stack.ctx.clock() + timedelta(seconds=40)
    with stack.ctx.db.session() as s:
        s.get(models.Connection, stack.connection_id).returns_poll_at = soon
    _post(stack, merchant, "/admin/settings/sync", {**SYNC, "returns_poll_minutes": "120"})
    assert _connection(stack).returns_poll_at == soon
