"""Use case: install orderbridge on a WooCommerce shop, and sign in to its admin, through
WooCommerce's own app authorization (wc-auth).

Both run the same three steps, so that nobody is ever trusted for knowing a shop's URL:
1. `start_grant`: a grant row with a random nonce; the browser goes to the shop's
   /wc-auth/v1/authorize with a signed token of that nonce as `user_id`.
2. `accept_callback`: the shop POSTs freshly made API keys to our callback. The keys are proven
   by using them at once (the webhook set-up is authenticated REST calls to the store URL of the
   grant, never to a URL the caller names), then stored encrypted; the grant becomes `approved`.
   Only someone signed in to that shop's wp-admin as a manager can make the shop do that.
3. `redeem`: the browser that started the grant comes back; the grant becomes `used` (once) and
   that browser is signed in as the shop.

Re-installing, or signing in, replaces the shop's keys with the new ones (one tenant per store
URL). WooCommerce has no API to revoke a key, so the superseded key is kept (plugin/sync/shop_keys.py)
for the settings page to ask the merchant to revoke it in WooCommerce > Settings > Advanced > REST API.
"""

from __future__ import annotations

import secrets as pysecrets
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from adapters.errors import AdapterError
from plugin.store import models
from plugin.sync.connect import ConnectError, register_shop
from plugin.sync.context import SyncContext
from plugin.sync.poll_shop import WEBHOOK_TOPICS, webhook_url
from plugin.sync.shop_keys import remember_new_key

GRANT_SECONDS = 15 * 60
APP_NAME = "orderbridge"     # wc-auth's app_name: the shop names our keys after it
PURPOSES = ("install", "signin")


class InstallError(Exception):
    """One line for the person in front of the browser (or the shop's callback)."""


def normalise_store_url(raw: str) -> str:
    """https://Shop.Example.com/ -> https://shop.example.com; a path (WordPress in a
    subfolder) is kept. Query strings, fragments and credentials in the URL are refused."""
    raw = (raw or "").strip()
    if not raw:
        raise InstallError("enter your shop's address, e.g. https://shop.example.com")
    if len(raw) > 400:
        raise InstallError("the shop address is too long")
    if not raw.isprintable() or any(c.isspace() for c in raw):
        raise InstallError("the shop address must not contain spaces or control characters")
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port                # ValueError: not a number, or out of range
    except ValueError:
        raise InstallError("the shop address must be an http(s) URL, e.g. https://shop.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InstallError("the shop address must be an http(s) URL, e.g. https://shop.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InstallError("the shop address must not contain a user name, password, query or fragment")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def start_grant(ctx: SyncContext, purpose: str, raw_store_url: str) -> tuple[str, str]:
    """(nonce, store URL). Refuses unsafe URLs (SSRF) before anything is stored."""
    if purpose not in PURPOSES:
        raise InstallError(f"unknown purpose {purpose!r}")
    store_url = normalise_store_url(raw_store_url)
    try:
        ctx.adapters.check_shop_url(store_url)
    except AdapterError as exc:
        raise InstallError(str(exc)) from exc
    now = ctx.clock()
    with ctx.db.session() as s:
        if purpose == "signin" and _shop_at(s, store_url) is None:
            raise InstallError("orderbridge is not installed on this shop yet: install it first")
        nonce = pysecrets.token_urlsafe(24)
        s.add(models.AuthGrant(nonce=nonce, purpose=purpose, store_url=store_url, state="pending",
                               created_at=now, expires_at=now + timedelta(seconds=GRANT_SECONDS)))
    return nonce, store_url


def accept_callback(ctx: SyncContext, nonce: str, keys: dict) -> int:
    """The shop's POST with the keys (already validated by the web layer's schema). Returns the
    shop id. Any failure leaves the shop as it was: WooCommerce then deletes the new key."""
    key_id = keys.get("key_id")
    if key_id is not None and not 0 < key_id < 2**63:
        raise InstallError("key_id is out of range")      # before the grant is spent
    now = ctx.clock()
    with ctx.db.session() as s:
        claimed = s.execute(
            update(models.AuthGrant)
            .where(models.AuthGrant.nonce == nonce, models.AuthGrant.state == "pending",
                   models.AuthGrant.expires_at > now)
            .values(state="approving")
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            raise InstallError("this authorization has expired or was already used: start again")
        grant = s.scalar(select(models.AuthGrant).where(models.AuthGrant.nonce == nonce))
        purpose, store_url = grant.purpose, grant.store_url
        existing = _shop_at(s, store_url)
        if purpose == "signin" and existing is None:
            grant.state = "failed"
            raise InstallError("orderbridge is not installed on this shop")
    try:
        shop_id = _store_keys(ctx, store_url, keys, keep_existing=existing is not None)
    except InstallError:
        _set_grant(ctx, nonce, state="failed")
        raise
    _set_grant(ctx, nonce, state="approved", shop_id=shop_id, approved_at=ctx.clock())
    return shop_id


def redeem(ctx: SyncContext, nonce: str) -> tuple[int, str]:
    """The browser came back from the shop: (shop id, purpose), exactly once per grant."""
    with ctx.db.session() as s:
        used = s.execute(
            update(models.AuthGrant)
            .where(models.AuthGrant.nonce == nonce, models.AuthGrant.state == "approved")
            .values(state="used", used_at=ctx.clock())
            .execution_options(synchronize_session=False)).rowcount
        grant = s.scalar(select(models.AuthGrant).where(models.AuthGrant.nonce == nonce))
        if used != 1 or grant is None or grant.shop_id is None:
            if grant is not None and grant.state == "pending":
                raise InstallError("the shop has not confirmed the authorization (yet): approve it in your "
                                   "shop, or start again")
            raise InstallError("this sign-in link was already used or has expired: start again")
        return grant.shop_id, grant.purpose


def _store_keys(ctx: SyncContext, store_url: str, keys: dict, *, keep_existing: bool) -> int:
    host = urlsplit(store_url).hostname or store_url
    with ctx.db.session() as s:
        before = _shop_at(s, store_url)
        previous = {"key_id": before.key_id, **ctx.box.open_json(before.credentials)} if before else None
    try:
        shop_id = register_shop(ctx, {"name": host, "url": store_url, "consumer_key": keys["consumer_key"],
                                      "consumer_secret": keys["consumer_secret"]}, keep_existing=keep_existing)
    except ConnectError as exc:
        raise InstallError(str(exc)) from exc
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        port = ctx.adapters.shop(shop)
        url = webhook_url(ctx, shop)
        shop.key_id = keys.get("key_id")
        # the key it replaces stays live in the shop: the settings page asks the merchant to revoke it
        remember_new_key(ctx, shop, keys, previous, app_name=APP_NAME)
    # Read the webhooks back: the set-up is only done when the shop shows all of them active.
    try:
        found = {w["topic"]: w for w in port.webhooks_for(url) if w.get("status") == "active"}
    except AdapterError as exc:
        raise InstallError(f"could not read the webhooks back from the shop: {exc}") from exc
    missing = [topic for topic in WEBHOOK_TOPICS if topic not in found]
    if missing:
        raise InstallError(f"the shop did not keep our webhooks for {', '.join(missing)}")
    return shop_id


def _shop_at(session, store_url: str) -> models.Shop | None:
    return session.scalar(select(models.Shop).where(models.Shop.platform == "woocommerce",
                                                    models.Shop.url == store_url))


def _set_grant(ctx: SyncContext, nonce: str, **values) -> None:
    with ctx.db.session() as s:
        s.execute(update(models.AuthGrant).where(models.AuthGrant.nonce == nonce).values(**values)
                  .execution_options(synchronize_session=False))
