"""The settings page: marketplace connections, the shop's sync settings, transporter rules
(with a live "try a code" box), stock sync switch, superseded keys, disconnect; and billing."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select, update

from plugin.domain import NoTransporter, TransporterRules
from plugin.store import models
from plugin.sync.manage_connections import (
    ConnectionInUse,
    ConnectionNotFound,
    credential_fields,
    get_connection,
    remove_connection,
    save_connection,
    set_enabled,
    test_connection,
)
from plugin.sync.shop_capabilities import gtin_matching_unavailable, gtin_missing, shop_software
from plugin.sync.shop_keys import dismiss as dismiss_keys_notice
from plugin.sync.shop_keys import keys_to_revoke
from plugin.sync.shop_settings import save_shop_settings
from plugin.web import forms
from plugin.web.security import shop_required, sign_out, signed_in_shop

bp = Blueprint("settings", __name__, url_prefix="/admin")


def _ctx():
    return current_app.extensions["orderbridge"]


def _codes(marketplace: str = "bol") -> frozenset[str]:
    return _ctx().adapters.transporter_codes(marketplace)


def _render(status: int = 200, **extra):
    ctx = _ctx()
    shop = signed_in_shop()
    with ctx.db.session() as s:
        connections = list(s.scalars(select(models.Connection).where(models.Connection.shop_id == shop.id)
                                     .order_by(models.Connection.id)))
    settings = shop.settings or {}
    context = dict(
        shop=shop, connections=connections, general=forms.general_view(settings),
        transporters=settings.get("transporters") or {"default": None, "rules": [], "use_provider_names": True},
        codes=sorted(_codes()), statuses=forms.WOO_STATUSES, new_statuses=forms.NEW_ORDER_STATUSES,
        errors={}, retention_days=ctx.settings.retention_days, sync=forms.sync_view(settings),
        reason_codes=ctx.adapters.cancel_reason_codes("bol"),
        handling_results=ctx.adapters.return_handling_results("bol"),
        keys_to_revoke=keys_to_revoke(ctx, shop.id),
        # what the shop's software has: with no GTIN field, EAN matching needs an EAN custom field
        gtin_missing=gtin_missing(shop.capabilities), shop_software=shop_software(shop.capabilities),
        gtin_unavailable=gtin_matching_unavailable(shop.capabilities, settings),
    )
    context.update(extra)
    return render_template("settings.html", **context), status


@bp.get("/settings")
@shop_required
def index():
    return _render()


@bp.post("/settings/general")
@shop_required
def save_general():
    shop = signed_in_shop()
    try:
        settings = forms.general_from_form(request.form, shop.settings or {})
    except ValidationError as exc:
        return _render(400, errors=forms.field_errors(exc), general=_echo_general())
    _store_settings(shop.id, settings)
    if settings.get("stock_sync") and not (shop.settings or {}).get("stock_sync"):
        # just switched on: compare and correct every offer now, not at the next interval
        with _ctx().db.session() as s:
            s.execute(update(models.Connection).where(models.Connection.shop_id == shop.id)
                      .values(stock_reconcile_at=None).execution_options(synchronize_session=False))
    flash("Settings saved.", "ok")
    return redirect(url_for("settings.index") + "#general", code=303)


def _echo_general() -> dict:
    """What the merchant typed, shown again next to the messages."""
    form = request.form
    return {"shop_poll_minutes": form.get("shop_poll_minutes", ""), "grace_hours": form.get("grace_hours", ""),
            "completed_statuses": form.getlist("completed_statuses"),
            "new_order_status": form.get("new_order_status", ""), "order_prefix": form.get("order_prefix", ""),
            "test_mode": form.get("test_mode") == "on", "stock_sync": form.get("stock_sync") == "on"}


@bp.post("/settings/sync")
@shop_required
def save_sync():
    ctx = _ctx()
    shop = signed_in_shop()
    try:
        settings = forms.sync_from_form(request.form, shop.settings or {}, ctx.adapters.cancel_reason_codes("bol"),
                                        ctx.adapters.return_handling_results("bol"))
    except ValidationError as exc:
        echo = {k: request.form.get(k, "") for k in forms.SyncForm().fields}
        echo["marketplace_cancellations"] = request.form.get("marketplace_cancellations") == "on"
        return _render(400, errors=forms.field_errors(exc), sync=echo)
    _store_settings(shop.id, settings)
    flash("Stock, cancellation and return settings saved.", "ok")
    return redirect(url_for("settings.index") + "#sync", code=303)


@bp.post("/settings/transporters")
@shop_required
def save_transporters():
    shop = signed_in_shop()
    try:
        transporters = forms.transporters_from_form(request.form, _codes())
    except ValidationError as exc:
        return _render(400, errors=forms.field_errors(exc, "transporters"), transporters=_echo_transporters())
    _store_settings(shop.id, {**(shop.settings or {}), "transporters": transporters})
    flash("Transporter rules saved.", "ok")
    return redirect(url_for("settings.index") + "#transporters", code=303)


def _echo_transporters() -> dict:
    form = request.form
    rows = zip(form.getlist("rule_pattern"), form.getlist("rule_transporter"), form.getlist("rule_strip"),
               strict=False)
    return {"default": form.get("default", ""), "use_provider_names": form.get("use_provider_names") == "on",
            "rules": [{"pattern": p, "transporter": t, "strip": s} for p, t, s in rows]}


@bp.post("/settings/transporters/try")
@shop_required
def try_code():
    """Which transporter and code a tracking code would be sent with, under the rules in the form
    (not yet saved) or, without them, the saved rules. JSON for the page's script."""
    code = request.form.get("try_code", "").strip()[:200]
    provider = request.form.get("try_provider", "").strip()[:100] or None
    if not code:
        return jsonify(ok=False, error="type a tracking code"), 400
    try:
        if "rule_pattern" in request.form or "default" in request.form:
            data = forms.transporters_from_form(request.form, _codes())
        else:
            data = (signed_in_shop().settings or {}).get("transporters")
        transporter, sent = TransporterRules.from_dict(data).resolve(code, provider)
    except ValidationError as exc:
        return jsonify(ok=False, error="fix the rules first: " + "; ".join(
            f"{k}: {v}" for k, v in forms.field_errors(exc).items())), 400
    except NoTransporter as exc:
        return jsonify(ok=False, error=str(exc))
    return jsonify(ok=True, transporter=transporter, code=sent)


def _store_settings(shop_id: int, settings: dict) -> None:
    save_shop_settings(_ctx(), shop_id, settings)   # a shorter poll interval applies at once


@bp.post("/settings/keys/dismiss")
@shop_required
def dismiss_keys():
    dismiss_keys_notice(_ctx(), signed_in_shop().id)
    return redirect(url_for("settings.index"), code=303)


@bp.post("/disconnect")
@shop_required
def disconnect():
    from plugin.sync.disconnect import disconnect_shop
    disconnect_shop(_ctx(), signed_in_shop().id, "disconnected by the merchant")
    flash("Your shop is disconnected: orderbridge stopped its work and removed its webhooks. "
          "Install the app again to reconnect, or revoke its API key in your shop (named below).", "ok")
    return redirect(url_for("settings.index"), code=303)


# ------------------------------------------------------------------ connections
def _connection_form(marketplace: str, conn: models.Connection | None = None, values: dict | None = None,
                     errors: dict | None = None, status: int = 200):
    ctx = _ctx()
    settings = conn.settings if conn else {}
    values = values or {
        "name": conn.name if conn else "",
        "poll_minutes": (conn.poll_seconds // 60 if conn else ctx.settings.poll_seconds // 60) or 1,
        "enabled": conn.enabled if conn else True,
        "credentials": _public_credentials(conn),
        "api_url": settings.get("api_url") or ("" if conn else ctx.settings.bol_api_url or ""),
        "token_url": settings.get("token_url") or ("" if conn else ctx.settings.bol_token_url or ""),
        "stock_buffer": settings.get("stock_buffer", 0),
    }
    return render_template("connection.html", shop=signed_in_shop(), conn=conn, marketplace=marketplace,
                           fields=credential_fields(ctx, marketplace), values=values, errors=errors or {},
                           dev_mode=ctx.settings.allow_private_urls), status


def _public_credentials(conn: models.Connection | None) -> dict:
    """The non-secret credential fields (a client id) to show again; secrets never leave."""
    if conn is None:
        return {}
    ctx = _ctx()
    stored = ctx.box.open_json(conn.credentials)
    return {f.name: stored.get(f.name, "") for f in credential_fields(ctx, conn.marketplace) if not f.secret}


def _marketplace() -> str:
    name = request.values.get("marketplace", "bol")
    if name not in _ctx().adapters.marketplaces():
        abort(400, f"unknown marketplace {name!r}")
    return name


@bp.get("/connections/new")
@shop_required
def new_connection():
    return _connection_form(_marketplace())


@bp.get("/connections/<int:connection_id>")
@shop_required
def edit_connection(connection_id: int):
    with _ctx().db.session() as s:
        conn = _owned(s, connection_id)
    return _connection_form(conn.marketplace, conn)


@bp.post("/connections")
@shop_required
def create_connection():
    return _save(None, _marketplace())


@bp.post("/connections/<int:connection_id>")
@shop_required
def update_connection(connection_id: int):
    with _ctx().db.session() as s:
        conn = _owned(s, connection_id)
    return _save(conn, conn.marketplace)


def _save(conn: models.Connection | None, marketplace: str):
    ctx = _ctx()
    fields = credential_fields(ctx, marketplace)
    form = request.form
    values = {"name": form.get("name", "").strip(), "poll_minutes": form.get("poll_minutes", ""),
              "enabled": form.get("enabled") == "on",
              "credentials": {f.name: form.get(f"cred_{f.name}", "").strip() for f in fields},
              "api_url": form.get("api_url", "").strip(), "token_url": form.get("token_url", "").strip(),
              "stock_buffer": form.get("stock_buffer", "0").strip() or "0"}
    shown = {**values, "credentials": {f.name: values["credentials"][f.name] for f in fields if not f.secret}}
    try:
        checked = forms.ConnectionForm(dev_mode=ctx.settings.allow_private_urls).load(
            {k: values[k] for k in ("name", "poll_minutes", "enabled", "api_url", "token_url", "stock_buffer")})
        connection_id = save_connection(ctx, signed_in_shop().id, conn.id if conn else None, {
            "marketplace": marketplace, "name": checked["name"], "poll_seconds": checked["poll_minutes"] * 60,
            "enabled": checked["enabled"], "credentials": values["credentials"],
            "api_url": checked.get("api_url"), "token_url": checked.get("token_url"),
            "stock_buffer": checked["stock_buffer"]})
    except ValidationError as exc:
        errors = forms.field_errors(exc)
        return _connection_form(marketplace, conn, values=shown, errors=errors, status=400)
    ok, message = test_connection(ctx, signed_in_shop().id, connection_id)
    if ok and checked["enabled"]:
        # the merchant just connected it: fetch its open orders now, not at its spread-out slot
        ctx.queue.poll_connection(connection_id)
        message += "; fetching its open orders now"
    flash(f"Saved. {message}.", "ok" if ok else "error")
    return redirect(url_for("settings.index") + "#connections", code=303)


@bp.post("/connections/<int:connection_id>/test")
@shop_required
def test(connection_id: int):
    try:
        ok, message = test_connection(_ctx(), signed_in_shop().id, connection_id)
    except ConnectionNotFound:
        abort(404, "no such connection")
    flash(message + ".", "ok" if ok else "error")
    return redirect(url_for("settings.index") + "#connections", code=303)


@bp.post("/connections/<int:connection_id>/enabled")
@shop_required
def toggle(connection_id: int):
    enabled = request.form.get("enabled") == "on"
    try:
        set_enabled(_ctx(), signed_in_shop().id, connection_id, enabled)
    except ConnectionNotFound:
        abort(404, "no such connection")
    flash("Connection enabled." if enabled else "Connection disabled: it is no longer polled.", "ok")
    return redirect(url_for("settings.index") + "#connections", code=303)


@bp.post("/connections/<int:connection_id>/delete")
@shop_required
def delete(connection_id: int):
    try:
        remove_connection(_ctx(), signed_in_shop().id, connection_id)
    except ConnectionNotFound:
        abort(404, "no such connection")
    except ConnectionInUse as exc:
        flash(str(exc) + ".", "error")
        return redirect(url_for("settings.index") + "#connections", code=303)
    flash("Connection removed.", "ok")
    return redirect(url_for("settings.index") + "#connections", code=303)


def _owned(session, connection_id: int) -> models.Connection:
    try:
        return get_connection(session, signed_in_shop().id, connection_id)
    except ConnectionNotFound:
        abort(404, "no such connection")


# ------------------------------------------------------------------ billing
@bp.get("/billing")
@shop_required
def billing():
    from plugin.store.billing import billable_months
    ctx = _ctx()
    price = Decimal(ctx.settings.price_per_account)
    with ctx.db.session() as s:
        months = [{"month": m.month, "count": m.count, "amount": f"{price * m.count:.2f}",
                   "accounts": [f"{a.name} ({a.marketplace})" for a in m.accounts]}
                  for m in billable_months(s, signed_in_shop().id)]
    return render_template("billing.html", shop=signed_in_shop(), months=months, price=f"{price:.2f}",
                           currency=ctx.settings.currency)


__all__ = ["bp", "sign_out"]
