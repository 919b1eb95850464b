"""Use case: register a shop (a tenant) and a marketplace seller account for it. Until the app
install flow exists this is what `orderbridge connect` does. Re-registering the same shop URL
updates its keys instead of making a second tenant."""

from __future__ import annotations

import hashlib
import secrets as pysecrets

from marshmallow import ValidationError
from sqlalchemy import select

from adapters.errors import AdapterError
from plugin.schemas import ConnectionSchema, ShopSchema, first_error
from plugin.store import models
from plugin.sync.context import SyncContext
from plugin.sync.dispatch import first_poll_at
from plugin.sync.poll_shop import WEBHOOK_TOPICS, webhook_url


class ConnectError(Exception):
    """Input or credentials a person must fix; the message is one line."""


# Billing counts seller accounts, not connections (plugin/store/billing.py). A connection's
# account is named by the first of these present in its validated credentials: the marketplace's
# public id of the account or API client (bol: client_id; seller_id / account_id for others).
# Never a secret, and only its hash is stored.
ACCOUNT_ID_KEYS = ("client_id", "seller_id", "account_id")


def account_ref(marketplace: str, credentials: dict) -> str | None:
    """sha256(marketplace + ":" + public account id)[:32], or None if no id is present."""
    for key in ACCOUNT_ID_KEYS:
        value = str(credentials.get(key) or "").strip()
        if value:
            return hashlib.sha256(f"{marketplace}:{value}".encode()).hexdigest()[:32]
    return None


def connected_twin(session, shop_id: int, marketplace: str, ref: str | None, exclude_id: int | None) -> str | None:
    """The name of another connection of this shop to the same seller account, if any. One seller
    account, one connection per shop: two would both import its orders, and bindings are unique
    per connection, so the shop would get every order twice."""
    if not ref:
        return None
    return session.scalar(select(models.Connection.name).where(
        models.Connection.shop_id == shop_id, models.Connection.marketplace == marketplace,
        models.Connection.account_ref == ref, models.Connection.id != (exclude_id or 0)))


def register_shop(ctx: SyncContext, data: dict, *, install_webhooks: bool = True,
                  keep_existing: bool = False) -> int:
    """Create the shop, or update the keys of the shop at this URL (one tenant per URL).
    `keep_existing`: a re-install keeps the merchant's shop name and settings."""
    try:
        values = ShopSchema().load(data)
    except ValidationError as exc:
        raise ConnectError(first_error(exc)) from exc
    url = values["url"].rstrip("/")
    creds = {"consumer_key": values["consumer_key"], "consumer_secret": values["consumer_secret"]}
    with ctx.db.session() as s:
        shop = s.scalar(select(models.Shop).where(models.Shop.platform == "woocommerce", models.Shop.url == url))
        created = shop is None
        if created:
            shop = models.Shop(public_id=pysecrets.token_urlsafe(12), platform="woocommerce", url=url,
                               webhook_secret=ctx.box.seal(pysecrets.token_urlsafe(32)),
                               next_poll_at=first_poll_at(ctx, values["settings"]["shop_poll_seconds"]))
            s.add(shop)
        previous = None if created else (shop.name, shop.credentials, shop.settings, shop.status,
                                         shop.disconnected_at, shop.disconnect_reason)
        if created or not keep_existing:
            shop.name = values["name"]
            shop.settings = values["settings"]
        shop.credentials = ctx.box.seal_json(creds)
        shop.status = "active"
        shop.disconnected_at = shop.disconnect_reason = None
        s.flush()
        shop_id = shop.id
        port = ctx.adapters.shop(shop)
        secret = ctx.box.open(shop.webhook_secret)
        hook_url = webhook_url(ctx, shop)
    # Committed before the webhooks are created: the shop pings the new webhook's URL at once,
    # and our endpoint must find the shop to answer it.
    if install_webhooks:
        try:
            # Back after a disconnection: while disconnected we answered the shop's deliveries
            # 404, and WooCommerce counted each as a failure. New webhooks start at 0.
            fresh = previous is not None and previous[3] != "active"
            port.ensure_webhooks(hook_url, secret, WEBHOOK_TOPICS, fresh=fresh)
        except AdapterError as exc:
            _undo(ctx, shop_id, previous)
            raise ConnectError(f"the shop refused the webhook set-up: {exc}") from exc
    return shop_id


def _undo(ctx: SyncContext, shop_id: int, previous: tuple | None) -> None:
    """Bad keys or an unreachable shop change nothing: remove the new shop, or restore the old."""
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        if previous is None:
            s.delete(shop)
        else:
            (shop.name, shop.credentials, shop.settings, shop.status, shop.disconnected_at,
             shop.disconnect_reason) = previous


def add_connection(ctx: SyncContext, shop_id: int, data: dict, *, check: bool = True) -> int:
    try:
        values = ConnectionSchema().load(data)
    except ValidationError as exc:
        raise ConnectError(first_error(exc)) from exc
    try:
        credentials = ctx.adapters.credentials_schema(values["marketplace"]).load(values["credentials"])
    except ValidationError as exc:
        raise ConnectError("credentials." + first_error(exc)) from exc
    settings = {k: values[k] for k in ("api_url", "token_url") if values.get(k)}
    with ctx.db.session() as s:
        if s.get(models.Shop, shop_id) is None:
            raise ConnectError(f"no shop with id {shop_id}")
        existing = s.scalar(select(models.Connection).where(
            models.Connection.shop_id == shop_id, models.Connection.marketplace == values["marketplace"],
            models.Connection.name == values["name"]))
        ref = account_ref(values["marketplace"], credentials)
        twin = connected_twin(s, shop_id, values["marketplace"], ref, existing.id if existing else None)
        if twin:
            raise ConnectError(f"this seller account is already connected to this shop as {twin!r}")
        conn = existing or models.Connection(shop_id=shop_id, marketplace=values["marketplace"], name=values["name"],
                                             next_poll_at=first_poll_at(ctx, values["poll_seconds"]))
        conn.credentials = ctx.box.seal_json(credentials)
        conn.account_ref = ref
        conn.settings = settings
        conn.poll_seconds = values["poll_seconds"]
        conn.enabled = True
        s.add(conn)
        s.flush()
        if check:
            try:
                ctx.adapters.marketplace(conn).check()
            except AdapterError as exc:
                raise ConnectError(f"{values['marketplace']} refused the credentials: {exc}") from exc
        return conn.id
