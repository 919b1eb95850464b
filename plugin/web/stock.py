"""The Stock and Returns tabs: per product, the offer it is linked to, the status of its newest
stock update (Pending, Sent, Superseded, Skipped, Error) with the last value sent and when; open
and handled returns with what was done in the shop and on the marketplace."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from plugin.store.stock_views import (
    RETURN_TABS,
    STOCK_TABS,
    return_counts,
    returns_page,
    stock_counts,
    stock_page,
)
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
                           enabled=(shop.settings or {}).get("stock_sync", False))


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
