"""Use case: the WooCommerce API keys a shop gave orderbridge that may still be live in it, for the
settings notice asking the merchant to revoke the ones we no longer use. WooCommerce has no API to
revoke a key, so only the merchant can (WooCommerce › Settings › Advanced › REST API).

The notice must name a key the way that list shows it: its description, which WC_Auth::create_keys
makes "<app name> - API (<Y-m-d H:i:s UTC>)" when the merchant approves, and "…" + the consumer
key's last 7 characters ("truncated_key"); never our key id, which the list does not show. The
description is rebuilt from our clock at the callback (the shop made the key a moment before);
the key ending is exact.

A superseded key drops out of the notice once the shop no longer accepts it (401: the merchant
revoked it). To ask, its consumer key and secret are kept, encrypted like the current credentials,
and forgotten as soon as the key is gone. Asked lazily, at most every CHECK_SECONDS per key, when
the notice is about to be shown. After a Disconnect the key we still hold is named too: we no
longer use it, and it stays live in the shop until the merchant revokes it.

Stored in Shop.superseded_key_ids, a JSON list of records (an old row may hold bare key ids):
{"key_id", "description", "ending", "sealed": box.seal_json({consumer_key, consumer_secret}),
"checked_at": ISO time} for every key we were given through wc-auth, the current one included;
a key found gone (or dismissed) is kept as {"key_id", "gone": true} only, so that a re-install
does not bring it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from adapters.errors import AdapterError, AuthError
from plugin.store import models
from plugin.sync.context import SyncContext

CHECK_SECONDS = 5 * 60
MAX_CHECKS = 3            # per page view: a slow shop delays the settings page by at most this many calls
ENDING_CHARS = 7          # WooCommerce's truncated_key: substr( $consumer_key, -7 )


@dataclass(frozen=True)
class ShopKey:
    key_id: int | None
    description: str | None     # as WooCommerce's key list shows it; None if we never knew it
    ending: str | None          # the consumer key's last 7 characters, shown as "…abc1234"

    @property
    def label(self) -> str:
        parts = [f'"{self.description}"' if self.description else None,
                 f"…{self.ending}" if self.ending else None]
        named = ", key ending ".join(p for p in parts if p)
        return named or f"key id {self.key_id}"


def key_description(app_name: str, created: datetime) -> str:
    """WC_Auth::create_keys(): sprintf('%s - API (%s)', wc_trim_string(app_name, 170), gmdate(...))."""
    name = " ".join(app_name.split())
    if len(name) > 170:
        name = name[:167] + "..."
    return f"{name} - API ({created:%Y-%m-%d %H:%M:%S})"


def records(shop: models.Shop) -> list[dict]:
    """The shop's key records; an old row's bare key ids become {"key_id": n}."""
    out = []
    for item in shop.superseded_key_ids or []:
        if isinstance(item, dict):
            out.append(dict(item))
        elif isinstance(item, int):
            out.append({"key_id": item})
    return out


def key_record(ctx: SyncContext, key_id: int | None, consumer_key: str, consumer_secret: str, *,
               description: str | None) -> dict:
    return {"key_id": key_id, "description": description, "ending": consumer_key[-ENDING_CHARS:],
            "sealed": ctx.box.seal_json({"consumer_key": consumer_key, "consumer_secret": consumer_secret}),
            "checked_at": None}


def remember_new_key(ctx: SyncContext, shop: models.Shop, keys: dict, previous: dict | None, *,
                     app_name: str) -> None:
    """At a callback that gave the shop new keys (inside the caller's session; the shop's
    credentials and key_id already hold the new key). `previous`: the decrypted credentials and
    key id the shop had before, recorded too if we never had a record of them (a shop installed
    before keys were recorded)."""
    kept = records(shop)
    known = {r.get("key_id") for r in kept if r.get("key_id") is not None}
    if previous and previous.get("key_id") and previous["key_id"] not in known and previous.get("consumer_key"):
        kept.append(key_record(ctx, previous["key_id"], previous["consumer_key"], previous["consumer_secret"],
                               description=None))
    new_id = keys.get("key_id")
    kept = [r for r in kept if new_id is None or r.get("key_id") != new_id]
    kept.append(key_record(ctx, new_id, keys["consumer_key"], keys["consumer_secret"],
                           description=key_description(app_name, ctx.clock())))
    shop.superseded_key_ids = kept


def _to_revoke(shop: models.Shop, record: dict) -> bool:
    """Named in the notice: a live key we no longer use (after a Disconnect, the one we had too)."""
    if record.get("gone"):
        return False
    return shop.status != "active" or record.get("key_id") != shop.key_id


def keys_to_revoke(ctx: SyncContext, shop_id: int) -> list[ShopKey]:
    """The keys the notice names, oldest first, after asking the shop about those not asked for
    CHECK_SECONDS: a key it answers 401 to was revoked, and is dropped (its secret forgotten)."""
    now = ctx.clock()
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        if shop is None:
            return []
        due = [r for r in records(shop) if _to_revoke(shop, r) and r.get("sealed") and _due(r, now)][:MAX_CHECKS]
        probe = SimpleNamespace(id=shop.id, platform=shop.platform, url=shop.url, settings=dict(shop.settings or {}))
    outcome: dict[tuple, bool | None] = {}
    for record in due:
        port = ctx.adapters.shop(SimpleNamespace(**vars(probe), credentials=record["sealed"]))
        outcome[_identity(record)] = _accepted(port)
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        if shop is None:
            return []
        kept = []
        for record in records(shop):
            if _identity(record) in outcome and not record.get("gone"):
                if outcome[_identity(record)] is False:
                    record = {"key_id": record.get("key_id"), "gone": True}   # the secret is forgotten
                else:
                    record["checked_at"] = now.isoformat()
            kept.append(record)
        if outcome:
            shop.superseded_key_ids = _prune(shop, kept)
        return [ShopKey(r.get("key_id"), r.get("description"), r.get("ending"))
                for r in records(shop) if _to_revoke(shop, r)]


def dismiss(ctx: SyncContext, shop_id: int) -> None:
    """"Done, hide this": the merchant says the named keys are revoked; forget them."""
    with ctx.db.session() as s:
        shop = s.get(models.Shop, shop_id)
        if shop is None:
            return
        shop.superseded_key_ids = _prune(shop, [
            {"key_id": r.get("key_id"), "gone": True} if _to_revoke(shop, r) else r for r in records(shop)])


def _prune(shop: models.Shop, kept: list[dict]) -> list[dict]:
    """A tombstone only matters while it names the current key (a re-install must not record it
    again from the credentials); others, and id-less gone records, are dropped."""
    return [r for r in kept if not r.get("gone") or (r.get("key_id") is not None and r.get("key_id") == shop.key_id)]


def _identity(record: dict) -> tuple:
    return (record.get("key_id"), record.get("ending"))


def _due(record: dict, now: datetime) -> bool:
    checked = record.get("checked_at")
    if not checked:
        return True
    try:
        at = datetime.fromisoformat(checked)
    except (TypeError, ValueError):
        return True
    if (at.tzinfo is None) != (now.tzinfo is None):
        at = at.replace(tzinfo=now.tzinfo)
    return now - at >= timedelta(seconds=CHECK_SECONDS)


def _accepted(port) -> bool | None:
    """True: the shop accepts the key; False: it answers 401 (revoked); None: could not tell
    (shop down, a 5xx): asked again next time. Nothing about the key is logged."""
    try:
        port.check()
    except AuthError as exc:
        return False if (exc.status or 401) == 401 else None
    except AdapterError:
        return None
    return True
