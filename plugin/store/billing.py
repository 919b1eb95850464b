"""Billing usage: one fee per seller account per calendar month (Channable's rule), not per
connection or country. A seller account is "in use" in a month when one of the shop's connections
to it was polled successfully in that month (UTC); two connections with the same account (the
same bol client id, say, once per country) share one `account_ref` and count once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.store.models import BillingUsage


class BillableAccount(NamedTuple):
    marketplace: str
    account_ref: str
    name: str             # the connection's name when the account was first seen that month


class BillableMonth(NamedTuple):
    month: str            # YYYY-MM (UTC)
    accounts: list[BillableAccount]
    count: int


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def record_usage(session: Session, shop_id: int, marketplace: str, account_ref: str, account_name: str,
                 at: datetime) -> bool:
    """Insert the (shop, marketplace, account, month) row once; True when this call inserted it.
    Race-safe on PostgreSQL and SQLite: the unique constraint decides, and a loser's insert is
    rolled back to its savepoint only, leaving the caller's transaction intact."""
    month = month_of(at)
    key = (BillingUsage.shop_id == shop_id, BillingUsage.marketplace == marketplace,
           BillingUsage.account_ref == account_ref, BillingUsage.month == month)
    if session.scalar(select(BillingUsage.id).where(*key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(BillingUsage(shop_id=shop_id, marketplace=marketplace, account_ref=account_ref,
                                     account_name=(account_name or "")[:200], month=month, first_seen_at=at))
    except IntegrityError:
        return False   # another poll of the same account recorded it first
    return True


def billable_months(session: Session, shop_id: int) -> list[BillableMonth]:
    """Per month, newest first: the seller accounts in use and how many (the number billed)."""
    rows = session.execute(
        select(BillingUsage.month, BillingUsage.marketplace, BillingUsage.account_ref, BillingUsage.account_name)
        .where(BillingUsage.shop_id == shop_id)
        .order_by(BillingUsage.month.desc(), BillingUsage.first_seen_at, BillingUsage.id))
    months: dict[str, list[BillableAccount]] = {}
    for month, marketplace, ref, name in rows:
        months.setdefault(month, []).append(BillableAccount(marketplace, ref, name))
    return [BillableMonth(month, accounts, len(accounts)) for month, accounts in months.items()]
