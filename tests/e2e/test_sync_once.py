"""`orderbridge sync once`: everything in-process, no worker (for cron users)."""

from __future__ import annotations

import dataclasses

import pytest

from plugin.inline import InlineQueue, run_once

pytestmark = pytest.mark.e2e


def test_sync_once_imports_and_creates_without_a_worker(stack):
    stack.connect()
    ids = stack.seed(4)
    queue = InlineQueue()
    ctx = dataclasses.replace(stack.ctx, queue=queue)
    queue.bind(ctx)
    counts = run_once(ctx)
    # done by the time it returns: nothing was left to a worker
    by_ext = stack.shop_orders_by_external()
    assert all(len(by_ext.get(e, [])) == 1 for e in ids)
    assert counts["import_order"] == 4 and counts["create_in_shop"] == 4
    # a second run finds nothing new and creates nothing twice
    run_once(ctx)
    assert all(len(v) == 1 for v in stack.shop_orders_by_external().values())
