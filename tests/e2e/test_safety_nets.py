"""The safety nets behind webhooks and jobs: the shop poll, and the dispatcher's sweeps."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import update

from plugin.inline import InlineQueue
from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.poll_shop import poll_shop

pytestmark = pytest.mark.e2e


def _webhooks(stack):
    return stack.woo.get("/_sandbox/webhooks").json()


def _set_webhook_status(stack, status: str):
    for hook in _webhooks(stack):
        stack.woo.put(f"/wp-json/wc/v3/webhooks/{hook['id']}", json={"status": status},
                      auth=stack.woo_state_keys).raise_for_status()


def test_shop_poll_applies_changes_whose_webhooks_never_came_and_reenables_webhooks(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    _set_webhook_status(stack, "disabled")         # as WooCommerce does after failed deliveries
    stack.complete(shop_order_id, "PostNL", "3SPOLL0000001")
    assert stack.order_rows()[ext].status == "not_shipped"   # no webhook: nothing known yet
    counts = poll_shop(stack.ctx, stack.shop_id)
    assert counts.get("shipped") == 1
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", what="pushed")
    assert {h["status"] for h in _webhooks(stack)} == {"active"}
    # polling again (overlapping window) changes nothing and ships nothing twice
    assert "shipped" not in poll_shop(stack.ctx, stack.shop_id)
    assert len([s for s in stack.shipments() if s["order_id"] == ext]) == 1


def test_lost_jobs_are_found_by_the_sweep(stack):
    """A shipment row whose job vanished (queue flushed, process killed before enqueueing) is
    pushed by the next heartbeat."""
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    _set_webhook_status(stack, "paused")
    stack.complete(shop_order_id, "PostNL", "3SSWEEP000001")
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    shop_order = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    lost = dataclasses.replace(stack.ctx, queue=InlineQueue())   # its push job is never run
    assert apply_shop_order(lost, stack.shop_id, shop_order, "test") == "shipped"
    with stack.ctx.db.session() as s:
        s.execute(update(models.Shipment).values(updated_at=stack.ctx.clock() - timedelta(minutes=2)))
    assert stack.shipment_rows()[ext].state == "pending"
    stack.tick()
    stack.wait_for(lambda: stack.shipment_rows()[ext].state == "success", what="the sweep pushed it")
    assert len([s for s in stack.shipments() if s["order_id"] == ext]) == 1


def test_the_sweeps_hold_back_while_the_queue_is_long(stack):
    """Under an import burst the open rows' jobs are still queued, not lost: the heartbeat must
    not queue every one of them again (it did: 30,000 jobs for 10,000 orders). Once the queue
    is short, a row whose job is gone is swept as before."""
    from plugin.sync.dispatch import SWEEP_BACKLOG, dispatch
    from plugin.sync.import_orders import import_order
    stack.connect()
    [ext] = stack.seed(1)
    queue = InlineQueue()
    lost = dataclasses.replace(stack.ctx, queue=queue)
    import_order(lost, stack.connection_id, ext)              # stored `new`; its create job is never run
    for i in range(SWEEP_BACKLOG + 1):                        # a long queue of other work
        queue.poll_shop(i)
    long_queue = dispatch(lost, stale_after=0)
    assert long_queue.creations == 0 and long_queue.skipped_sweeps > SWEEP_BACKLOG
    short_queue = dispatch(dataclasses.replace(stack.ctx, queue=InlineQueue()), stale_after=0)
    assert (short_queue.creations, short_queue.skipped_sweeps) == (1, 0)


def test_due_connections_are_polled_once_per_interval(stack):
    from plugin.sync.dispatch import dispatch
    stack.connect(poll_seconds=300)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(next_poll_at=stack.ctx.clock() - timedelta(seconds=1)))
    held = dataclasses.replace(stack.ctx, queue=InlineQueue())
    assert dispatch(held).connections == 1
    assert dispatch(held).connections == 0         # next poll is 5 minutes away now
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
        # one interval after its due time (a second ago), not after the tick: no drift
        assert timedelta(seconds=297) < conn.next_poll_at - stack.ctx.clock() <= timedelta(seconds=299)


def test_throttled_imports_come_back_after_retry_after_not_at_the_next_poll(stack):
    stack.connect(poll_seconds=3600)
    ids = stack.seed(8)   # more than the client's own 4 retries can absorb at 1 request/s
    # one request per second for the orders endpoints: most detail calls get 429 + Retry-After
    stack.bol.put("/_sandbox/settings", json={"rate_per_second": 1, "rate_burst": 1}).raise_for_status()
    stack.poll()
    stack.wait_for(lambda: all(e in stack.shop_orders_by_external() for e in ids), timeout=45,
                   what="every order imported despite 429s")
    assert stack.bol.get("/_sandbox/stats").json()["rate_limited"] > 0
