"""The orders view: tabs with counts, search, paging; an order's page with its lines, both ids,
status and timeline; the merchant's actions (Resend, Handle manually). Every lookup is scoped
to the signed-in shop, so another shop's order id is a 404."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from plugin.store.order_views import STATUS_LABELS, TABS, line_state, order_detail, page_of_orders, tab_counts
from plugin.web.security import shop_required, signed_in_shop

bp = Blueprint("orders", __name__, url_prefix="/admin/orders")


def _ctx():
    return current_app.extensions["orderbridge"]


def _query() -> tuple[str, str, int]:
    tab = request.args.get("tab", "all")
    if tab not in TABS:
        abort(400, f"unknown tab {tab!r}")
    return tab, request.args.get("q", "")[:100], request.args.get("page", 1, type=int) or 1


@bp.get("")
@shop_required
def index():
    tab, q, page = _query()
    shop = signed_in_shop()
    with _ctx().db.session() as s:
        counts = tab_counts(s, shop.id, q)
        result = page_of_orders(s, shop.id, tab, q, page)
    return render_template("orders.html", tabs=TABS, status_labels=STATUS_LABELS, tab=tab, q=q, counts=counts, result=result, shop=shop)


@bp.get("/counts.json")
@shop_required
def counts():
    """For the page's small script that keeps the tab counts live."""
    _tab, q, _page = _query()
    with _ctx().db.session() as s:
        return jsonify(tab_counts(s, signed_in_shop().id, q))


@bp.get("/<int:order_id>")
@shop_required
def show(order_id: int):
    shop = signed_in_shop()
    with _ctx().db.session() as s:
        detail = order_detail(s, shop.id, order_id)
        if detail is None:
            abort(404, "no such order")
        return render_template("order.html", d=detail, line_state=line_state, shop=shop, tabs=TABS,
                               status_labels=STATUS_LABELS)


@bp.post("/<int:order_id>/resend")
@shop_required
def resend(order_id: int):
    from plugin.sync.errors import ActionRefused
    from plugin.sync.resend import resend as resend_order
    try:
        what = resend_order(_ctx(), signed_in_shop().id, order_id)
    except ActionRefused as exc:
        return _refused(order_id, str(exc))
    flash(f"Resend: {what}.", "ok")
    return redirect(url_for("orders.show", order_id=order_id), code=303)


@bp.post("/<int:order_id>/manual")
@shop_required
def manual(order_id: int):
    from plugin.sync.errors import ActionRefused
    from plugin.sync.handle_manually import handle_manually
    try:
        handle_manually(_ctx(), signed_in_shop().id, order_id, request.form.get("reason", "").strip())
    except ActionRefused as exc:
        return _refused(order_id, str(exc))
    flash("The order is handled manually now: orderbridge no longer touches it.", "ok")
    return redirect(url_for("orders.show", order_id=order_id), code=303)


def _refused(order_id: int, message: str):
    """A refused action on an order of this shop: say why on its page (4xx); another shop's or
    a missing order: 404."""
    with _ctx().db.session() as s:
        detail = order_detail(s, signed_in_shop().id, order_id)
        if detail is None:
            abort(404, "no such order")
        return render_template("order.html", d=detail, line_state=line_state, shop=signed_in_shop(), tabs=TABS,
                               status_labels=STATUS_LABELS,
                               error=message), 409
