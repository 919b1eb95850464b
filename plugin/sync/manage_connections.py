"""Use case: the merchant manages marketplace seller accounts from the settings page: add, edit,
test, enable/disable, remove. The credentials are whatever the marketplace adapter's own config
schema asks for, so a new marketplace needs no new form. Every call is scoped to the shop: a
connection id of another shop is simply not found."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import func, select

from adapters.errors import AdapterError, AuthError
from plugin.store import models
from plugin.sync.connect import account_ref, connected_twin
from plugin.sync.context import SyncContext
from plugin.sync.dispatch import first_poll_at
from plugin.sync.shop_settings import sooner_for_shorter_interval


class ConnectionNotFound(Exception):
    pass


class ConnectionInUse(Exception):
    """One line: why the connection cannot be removed now."""


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool          # load-only in the adapter's schema: never shown again, blank keeps it
    required: bool
    help: str = ""


def credential_fields(ctx: SyncContext, marketplace: str) -> list[CredentialField]:
    schema = ctx.adapters.credentials_schema(marketplace)
    return [CredentialField(name=name, label=field.metadata.get("label") or name.replace("_", " ").capitalize(),
                            secret=bool(field.load_only), required=bool(field.required),
                            help=field.metadata.get("help", ""))
            for name, field in schema.fields.items()]


def get_connection(session, shop_id: int, connection_id: int) -> models.Connection:
    conn = session.scalar(select(models.Connection).where(models.Connection.id == connection_id,
                                                          models.Connection.shop_id == shop_id))
    if conn is None:
        raise ConnectionNotFound()
    return conn


def save_connection(ctx: SyncContext, shop_id: int, connection_id: int | None, values: dict) -> int:
    """`values`: name, marketplace, poll_seconds, enabled, credentials (dict), api_url/token_url
    (dev mode only; None otherwise), stock_buffer (units held back from the marketplace). Raises ValidationError {field: [message]}; saves nothing then."""
    schema = ctx.adapters.credentials_schema(values["marketplace"])
    with ctx.db.session() as s:
        conn = get_connection(s, shop_id, connection_id) if connection_id else None
        submitted = {k: v for k, v in values["credentials"].items() if v not in ("", None)}
        stored = ctx.box.open_json(conn.credentials) if conn else {}
        try:
            credentials = schema.load({**stored, **submitted})
        except ValidationError as exc:
            raise ValidationError({"credentials": exc.messages}) from exc
        clash = s.scalar(select(func.count()).select_from(models.Connection).where(
            models.Connection.shop_id == shop_id, models.Connection.marketplace == values["marketplace"],
            models.Connection.name == values["name"],
            models.Connection.id != (connection_id or 0)))
        if clash:
            raise ValidationError({"name": ["another connection of this shop has this name"]})
        ref = account_ref(values["marketplace"], credentials)
        twin = connected_twin(s, shop_id, values["marketplace"], ref, connection_id)
        if twin:
            raise ValidationError({"credentials": {"_schema": [
                f"this seller account is already connected to this shop as {twin!r}"]}})
        if conn is None:
            conn = models.Connection(shop_id=shop_id, marketplace=values["marketplace"],
                                     next_poll_at=first_poll_at(ctx, values["poll_seconds"]))
            s.add(conn)
        conn.name = values["name"]
        conn.credentials = ctx.box.seal_json(credentials)
        conn.settings = {**{k: values[k] for k in ("api_url", "token_url") if values.get(k)},
                         "stock_buffer": int(values.get("stock_buffer") or 0)}
        conn.enabled = values["enabled"]
        if conn.poll_seconds is not None and values["poll_seconds"] < conn.poll_seconds:
            # a shorter interval applies at once, not after the slot the old one set
            conn.next_poll_at = sooner_for_shorter_interval(conn.next_poll_at, conn.poll_seconds,
                                                            values["poll_seconds"], ctx.clock())
        elif conn.poll_seconds != values["poll_seconds"]:
            conn.next_poll_at = first_poll_at(ctx, values["poll_seconds"])
        conn.poll_seconds = values["poll_seconds"]
        conn.account_ref = ref
        conn.last_error = None
        s.flush()
        return conn.id


def test_connection(ctx: SyncContext, shop_id: int, connection_id: int) -> tuple[bool, str]:
    """Really call the marketplace with the stored credentials."""
    with ctx.db.session() as s:
        conn = get_connection(s, shop_id, connection_id)
        port = ctx.adapters.marketplace(conn)
        name = conn.name
    try:
        port.check()
    except AuthError as exc:
        return _tested(ctx, connection_id, False, f"{name}: the marketplace refused the credentials ({exc})")
    except AdapterError as exc:
        return _tested(ctx, connection_id, False, f"{name}: the marketplace could not be reached ({exc})")
    return _tested(ctx, connection_id, True, f"{name}: connection works")


def _tested(ctx: SyncContext, connection_id: int, ok: bool, message: str) -> tuple[bool, str]:
    with ctx.db.session() as s:
        s.get(models.Connection, connection_id).last_error = None if ok else message[:2000]
    return ok, message


def set_enabled(ctx: SyncContext, shop_id: int, connection_id: int, enabled: bool) -> None:
    with ctx.db.session() as s:
        conn = get_connection(s, shop_id, connection_id)
        conn.enabled = enabled
        if enabled:
            conn.next_poll_at = ctx.clock()        # poll soon after switching back on


def remove_connection(ctx: SyncContext, shop_id: int, connection_id: int) -> None:
    """Removes the seller account and its order history; refused while work is in flight, so a
    half-created order or a half-sent shipment is never forgotten."""
    with ctx.db.session() as s:
        conn = get_connection(s, shop_id, connection_id)
        creating = s.scalar(select(func.count()).select_from(models.Binding).where(
            models.Binding.connection_id == conn.id, models.Binding.state.in_(("new", "creating"))))
        shipping = s.scalar(select(func.count()).select_from(models.Shipment)
                            .join(models.Order, models.Order.id == models.Shipment.order_id)
                            .where(models.Order.connection_id == conn.id,
                                   models.Shipment.state.in_(("pending", "sending", "submitted"))))
        if creating or shipping:
            raise ConnectionInUse(f"{conn.name} still has {creating} order(s) being created and {shipping} "
                                  f"shipment(s) being sent: disable it, wait for them, then remove it")
        s.delete(conn)

