"""Secrets are encrypted at rest and never logged, even when calls fail."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from adapters.errors import AuthError
from plugin.demo.stack import SELLER, SHOP_KEYS
from plugin.store import models

pytestmark = pytest.mark.e2e


def test_no_secret_in_logs_timeline_or_plain_columns(stack, caplog):
    caplog.set_level(logging.DEBUG)
    stack.connect()
    ids = stack.seed(3)
    stack.woo.put("/_sandbox/faults", json={"error_rate": 0.3}).raise_for_status()
    stack.bol.put("/_sandbox/faults", json={"error_rate": 0.3}).raise_for_status()
    stack.poll()
    stack.wait_for(lambda: all(e in stack.shop_orders_by_external() for e in ids), timeout=30, what="created")
    # a seller whose secret was changed on bol's side: every call is refused with 401
    stack.bol.post("/_sandbox/sellers", json={"client_id": SELLER[0], "client_secret": "rotated"}).raise_for_status()
    stack.bol.post("/_sandbox/tokens/expire").raise_for_status()
    from plugin.sync.import_orders import import_orders
    with pytest.raises(AuthError):   # recorded on the connection, secret-free
        import_orders(stack.ctx, stack.connection_id)
    secrets = [SELLER[1], SHOP_KEYS[1], SHOP_KEYS[0]]
    with stack.ctx.db.session() as s:
        stored = [m for (m,) in s.execute(select(models.TimelineEntry.message))]
        stored += [e for (e,) in s.execute(select(models.Connection.last_error)) if e]
        stored += [e for (e,) in s.execute(select(models.PollCursor.last_error)) if e]
        raw = [str(row) for row in s.execute(text("SELECT credentials, webhook_secret FROM shops"))]
        raw += [str(row) for row in s.execute(text("SELECT credentials FROM connections"))]
        assert s.get(models.Connection, stack.connection_id).last_error   # the 401 was recorded
    for blob in stored + raw + [caplog.text]:
        for secret in secrets:
            assert secret not in blob
