"""The settings notice that asks the merchant to revoke API keys orderbridge no longer uses names
each key as WooCommerce's key list shows it (description, "…" + the consumer key's last 7
characters), drops a key once the shop no longer accepts it, and after a Disconnect names the key
still live in the shop."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from plugin.store import models
from plugin.sync.shop_keys import CHECK_SECONDS
from tests.e2e.merchant_browser import Browser, parse


def _sign_in_again(stack) -> None:
    browser = Browser()
    try:
        assert browser.install(stack.app_url, stack.woo_url).status_code == 200
    finally:
        browser.close()


def _shop(stack) -> models.Shop:
    with stack.ctx.db.session() as s:
        [shop] = s.query(models.Shop).all()
        return shop


def _shop_keys(stack) -> dict[int, dict]:
    """WooCommerce › Settings › Advanced › REST API, as the merchant sees it."""
    return {k["key_id"]: k for k in stack.woo.get("/_sandbox/keys").json()}


def _notice(browser, stack) -> list[str]:
    page = browser.get(f"{stack.app_url}/admin/settings")
    assert page.status_code == 200
    text = html.unescape(page.text)
    if 'id="superseded-keys"' not in text:
        return []
    block = text.split('id="superseded-keys"', 1)[1].split("</div>", 1)[0]
    return [item.split("</li>", 1)[0].strip() for item in block.split('<li class="revoke-key">')[1:]]


def _later(stack, seconds: float) -> None:
    """Move orderbridge's clock on: a key is asked about again only after CHECK_SECONDS."""
    offset = timedelta(seconds=seconds)
    stack.ctx.clock = lambda: datetime.now(UTC) + offset


def _same_second(ours: str, theirs: str) -> bool:
    def at(description: str) -> datetime:
        return datetime.strptime(description.rsplit("(", 1)[1].rstrip(")"), "%Y-%m-%d %H:%M:%S")
    return ours.split(" (")[0] == theirs.split(" (")[0] and abs(at(ours) - at(theirs)) <= timedelta(seconds=2)


def test_the_notice_names_old_keys_as_the_shop_lists_them_and_drops_revoked_ones(stack):
    merchant = Browser()
    try:
        merchant.install(stack.app_url, stack.woo_url)
        first = _shop(stack).key_id
        assert _notice(merchant, stack) == []                    # one key, and we use it
        _sign_in_again(stack)
        current = _shop(stack).key_id
        listed = _shop_keys(stack)
        old = listed[first]

        [named] = _notice(merchant, stack)
        assert f"…{old['truncated_key']}" in named and len(old["truncated_key"]) == 7
        assert named.startswith('"orderbridge - API (')
        assert _same_second(named.split('"')[1], old["description"])
        assert "key id" not in named and listed[current]["truncated_key"] not in named

        # the merchant revokes it in wp-admin; once it is asked again, the notice drops it
        stack.woo.delete(f"/_sandbox/keys/{first}").raise_for_status()
        assert len(_notice(merchant, stack)) == 1                # asked a moment ago: not yet again
        _later(stack, CHECK_SECONDS + 1)
        assert _notice(merchant, stack) == []
        records = _shop(stack).superseded_key_ids
        assert all("sealed" not in r for r in records if r["key_id"] == first)   # its secret is forgotten
        assert [r["key_id"] for r in records if not r.get("gone")] == [current]
    finally:
        merchant.close()


def test_after_disconnect_the_notice_names_the_key_still_live_in_the_shop(stack):
    merchant = Browser()
    try:
        merchant.install(stack.app_url, stack.woo_url)
        current = _shop(stack).key_id
        page = merchant.get(f"{stack.app_url}/admin/settings")
        form = [f for f in parse(page.text).forms if f.get("action", "").endswith("/admin/disconnect")]
        assert form, "no disconnect form on the settings page"
        done = merchant.post_form(f"{stack.app_url}/admin/disconnect", page)
        assert done.status_code == 200 and _shop(stack).status == "disconnected"

        live = _shop_keys(stack)[current]
        [named] = _notice(merchant, stack)
        assert f"…{live['truncated_key']}" in named and _same_second(named.split('"')[1], live["description"])
        assert "disconnected" in html.unescape(merchant.get(f"{stack.app_url}/admin/settings").text)

        stack.woo.delete(f"/_sandbox/keys/{current}").raise_for_status()
        _later(stack, CHECK_SECONDS + 1)
        assert _notice(merchant, stack) == []
        # a re-install does not bring the revoked key back
        _later(stack, 0)
        merchant.install(stack.app_url, stack.woo_url)
        assert _shop(stack).status == "active" and _notice(merchant, stack) == []
    finally:
        merchant.close()
