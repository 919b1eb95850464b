"""The Stock and Returns tabs: per product, the offer it is linked to, the status of its newest
stock update (Pending, Sent, Superseded, Skipped, Error) with the last value sent and when; open
and handled returns with what was done in the shop and on the marketplace."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from plugin.store.stock_views import (
    RETURN_TABS,
    STOCK_TABS,
    return_counts,
    returns_page,
    stock_counts,
    stock_page,
)
from plugin.sync.shop_capabilities import gtin_matching_unavailable, shop_software
from plugin.web.security import shop_required, signed_in_shop

bp = Blueprint("stock", __name__, url_prefix="/admin")


def _ctx():
    return current_app.extensions["orderbridge"]


def _tab(tabs: dict, default: str) -> str:
    tab = request.args.get("tab", default)
    if tab not in tabs:
        abort(400, f"unknown tab {tab!r}")
    return tab


@bp.get("/stock")
@shop_required
def index():
    tab = _tab(STOCK_TABS, "all")
    q = request.args.get("q", "")[:100]
    page = request.args.get("page", 1, type=int) or 1
    shop = signed_in_shop()
    with _ctx().db.session() as s:
        counts = stock_counts(s, shop.id, q)
        result = stock_page(s, shop.id, tab, q, page)
    return render_template("stock.html", shop=shop, tabs=STOCK_TABS, tab=tab, q=q, counts=counts, result=result,
                           enabled=(shop.settings or {}).get("stock_sync", False),
                           gtin_unavailable=gtin_matching_unavailable(shop.capabilities, shop.settings),
                           shop_software=shop_software(shop.capabilities))


@bp.post("/stock/<int:link_id>/resend")
@shop_required
def resend(link_id: int):
    """A product whose stock update is in Error: send its stock again (CSRF-checked like every
    admin form). Refusals (another shop's product, nothing in error, being sent) come back as a
    message on the tab; another shop's product is a 404."""
    from plugin.sync.errors import ActionRefused
    from plugin.sync.resend import resend_stock
    try:
        what = resend_stock(_ctx(), signed_in_shop().id, link_id)
    except ActionRefused as exc:
        if str(exc).startswith("no such product"):
            abort(404, str(exc))
        flash(f"Resend refused: {exc}.", "error")
        return redirect(url_for("stock.index", tab=request.form.get("tab") or None), code=303)
    flash(f"Resend: {what}.", "ok")
    return redirect(url_for("stock.index", tab=request.form.get("tab") or None), code=303)


@bp.get("/returns")
@shop_required
def returns():
    tab = _tab(RETURN_TABS, "open")
    page = request.args.get("page", 1, type=int) or 1
    shop = signed_in_shop()
    with _ctx().db.session() as s:
        counts = return_counts(s, shop.id)
        result = returns_page(s, shop.id, tab, page)
    return render_template("returns.html", shop=shop, tabs=RETURN_TABS, tab=tab, counts=counts, result=result)
