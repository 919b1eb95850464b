"""Read-side queries behind the admin's Stock and Returns tabs. Every query takes the shop id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from plugin.store import models

PAGE_SIZE = 50

# Stock statuses as merchants know them (Channable's words), per product: its newest update's.
# "In sync": the reconcile found the marketplace right already, nothing had to be sent.
# "Superseded" is a value that was never sent because a newer one came first: a product is listed
# there when its recent history has one (a product's own newest status is never superseded).
STOCK_TABS: dict[str, str] = {
    "all": "All", "pending": "Pending", "sending": "Sending", "sent": "Sent", "in_sync": "In sync",
    "superseded": "Superseded", "skipped": "Skipped", "error": "Error",
}


def _superseded():
    return (select(models.StockUpdate.id)
            .where(models.StockUpdate.link_id == models.OfferLink.id, models.StockUpdate.state == "superseded")
            .exists())
RETURN_TABS: dict[str, str] = {"open": "Open", "handled": "Handled", "all": "All"}


@dataclass
class Page:
    rows: list
    page: int
    pages: int
    total: int


def _page(session: Session, stmt, count_stmt, page: int) -> Page:
    total = session.scalar(count_stmt) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(session.execute(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return Page(rows, page, pages, total)


def _links(shop_id: int):
    return (select(models.OfferLink, models.Connection.name)
            .join(models.Connection, models.Connection.id == models.OfferLink.connection_id)
            .where(models.Connection.shop_id == shop_id))


def _stock_search(stmt, q: str):
    q = (q or "").strip()[:100]
    if not q:
        return stmt
    like = f"%{q}%"
    return stmt.where(or_(models.OfferLink.sku.ilike(like), models.OfferLink.ean.ilike(like),
                          models.OfferLink.offer_id.ilike(like)))


def stock_counts(session: Session, shop_id: int, q: str = "") -> dict[str, int]:
    stmt = _stock_search(select(models.OfferLink.stock_status, func.count())
                         .join(models.Connection, models.Connection.id == models.OfferLink.connection_id)
                         .where(models.Connection.shop_id == shop_id), q).group_by(models.OfferLink.stock_status)
    counts = dict.fromkeys(STOCK_TABS, 0)
    for status, n in session.execute(stmt):
        counts["all"] += n
        if status in counts and status != "superseded":
            counts[status] += n
    counts["superseded"] = session.scalar(_stock_search(
        select(func.count()).select_from(models.OfferLink)
        .join(models.Connection, models.Connection.id == models.OfferLink.connection_id)
        .where(models.Connection.shop_id == shop_id, _superseded()), q)) or 0
    return counts


def stock_page(session: Session, shop_id: int, tab: str, q: str = "", page: int = 1) -> Page:
    stmt = _stock_search(_links(shop_id), q)
    if tab == "superseded":
        stmt = stmt.where(_superseded())
    elif tab != "all":
        stmt = stmt.where(models.OfferLink.stock_status == tab)
    count = select(func.count()).select_from(stmt.with_only_columns(models.OfferLink.id).subquery())
    return _page(session, stmt.order_by(models.OfferLink.updated_at.desc(), models.OfferLink.id.desc()), count, page)


def _returns(shop_id: int):
    return (select(models.Return, models.Connection.name)
            .join(models.Connection, models.Connection.id == models.Return.connection_id)
            .where(models.Return.shop_id == shop_id))


def return_counts(session: Session, shop_id: int) -> dict[str, int]:
    counts = dict.fromkeys(RETURN_TABS, 0)
    for state, n in session.execute(select(models.Return.state, func.count())
                                    .where(models.Return.shop_id == shop_id).group_by(models.Return.state)):
        counts["all"] += n
        counts["handled" if state == "handled" else "open"] += n
    return counts


def returns_page(session: Session, shop_id: int, tab: str, page: int = 1) -> Page:
    stmt = _returns(shop_id)
    if tab == "open":
        stmt = stmt.where(models.Return.state != "handled")
    elif tab == "handled":
        stmt = stmt.where(models.Return.state == "handled")
    count = select(func.count()).select_from(stmt.with_only_columns(models.Return.id).subquery())
    return _page(session, stmt.order_by(models.Return.id.desc()), count, page)
