"""Billing: one fee per seller account per month: a seller account is billed once however many
connections it had that month (removed and added again, renamed); a failed poll counts nothing;
months are UTC. And one shop cannot connect the same seller account twice (it would import every
order twice)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from adapters.errors import AuthError
from plugin.demo.stack import SELLER
from plugin.store import models
from plugin.store.billing import billable_months, record_usage
from plugin.sync.connect import ConnectError, add_connection
from plugin.sync.import_orders import import_orders

pytestmark = pytest.mark.e2e

OTHER = ("other-seller", "other-seller-secret")


def _ref(client_id: str) -> str:
    return hashlib.sha256(f"bol:{client_id}".encode()).hexdigest()[:32]


def _connection(stack, name: str, creds: tuple[str, str], *, check: bool = True) -> int:
    return add_connection(stack.ctx, stack.shop_id, {
        "marketplace": "bol", "name": name, "credentials": {"client_id": creds[0], "client_secret": creds[1]},
        "api_url": stack.bol_url, "token_url": stack.bol_url + "/token"}, check=check)


def _at(stack, when: datetime):
    return dataclasses.replace(stack.ctx, clock=lambda: when)


def _months(stack):
    with stack.ctx.db.session() as s:
        return billable_months(s, stack.shop_id)


def test_one_fee_per_seller_account_per_month(stack):
    stack.connect()
    stack.bol.post("/_sandbox/sellers", json={"client_id": OTHER[0], "client_secret": OTHER[1]}).raise_for_status()
    other = _connection(stack, "Other seller", OTHER)
    broken = _connection(stack, "Broken seller", ("no-such-seller", "nope"), check=False)

    november = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    december = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    for conn in (stack.connection_id, other, stack.connection_id):
        import_orders(_at(stack, november), conn)
    # the merchant removes the account and adds it again under another name, the same month
    with stack.ctx.db.session() as s:
        s.delete(s.get(models.Connection, stack.connection_id))
    again = _connection(stack, "Stack seller NL+BE", SELLER)
    with stack.ctx.db.session() as s:
        refs = {c.id: c.account_ref for c in s.scalars(select(models.Connection))}
    assert refs[again] == _ref(SELLER[0]) and refs[other] == _ref(OTHER[0])
    import_orders(_at(stack, november), again)
    with pytest.raises(AuthError):
        import_orders(_at(stack, november), broken)            # a failed poll bills nothing
    import_orders(_at(stack, december), again)

    months = _months(stack)
    assert [(m.month, m.count) for m in months] == [("2026-12", 1), ("2026-11", 2)]   # newest first
    month, accounts, count = months[1]
    assert sorted((a.account_ref, a.name) for a in accounts) == sorted(
        [(_ref(SELLER[0]), "Stack seller"), (_ref(OTHER[0]), "Other seller")])
    assert months[0].accounts[0].account_ref == _ref(SELLER[0])


def test_one_shop_cannot_connect_the_same_seller_account_twice(stack):
    stack.connect()
    with pytest.raises(ConnectError, match="already connected to this shop as 'Stack seller'"):
        _connection(stack, "Stack seller BE", SELLER)
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.Connection)) == 1


def test_a_connection_from_before_account_refs_is_backfilled_at_its_next_poll(stack):
    stack.connect()
    with stack.ctx.db.session() as s:
        s.get(models.Connection, stack.connection_id).account_ref = None
    assert _months(stack) == []
    import_orders(stack.ctx, stack.connection_id)
    with stack.ctx.db.session() as s:
        assert s.get(models.Connection, stack.connection_id).account_ref == _ref(SELLER[0])
    [(month, accounts, count)] = _months(stack)
    assert count == 1 and month == datetime.now(UTC).strftime("%Y-%m")


def test_record_usage_is_race_safe(stack):
    """Two polls of the same account record the month at the same moment: one row, both
    transactions commit (the loser's insert is undone to its savepoint only)."""
    stack.connect()
    at = datetime(2026, 11, 5, tzinfo=UTC)
    barrier = threading.Barrier(2)
    results: list = []

    def poll(name):
        with stack.ctx.db.session() as s:
            barrier.wait()
            inserted = record_usage(s, stack.shop_id, "bol", _ref(SELLER[0]), name, at)
            s.add(models.PollCursor(stream=f"test:{name}"))     # the rest of the transaction survives
            results.append(inserted)

    threads = [threading.Thread(target=poll, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    with stack.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(models.BillingUsage)) == 1
        assert s.scalar(select(func.count()).select_from(models.PollCursor)
                        .where(models.PollCursor.stream.like("test:%"))) == 2
