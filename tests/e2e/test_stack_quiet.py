"""The stack's wait_quiet, which the "nothing happened twice" tests stand on: it returns only once
the work set off has run to its end, and says what is still on its way when it does not."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_quiet_comes_after_the_shipment_is_final_on_bol(stack):
    stack.connect()
    ext, shop_order_id = stack.order_in_shop()
    stack.wait_quiet()
    stack.complete(shop_order_id, "PostNL", "3SQUIET00001")
    assert stack.busy(), "a completion in the shop's webhook queue is work on its way"
    stack.wait_quiet()
    # read afresh: the webhook was applied, the shipment sent and its process followed to the end
    assert stack.shipment_rows()[ext].state == "success"
    assert [s["order_id"] for s in stack.shipments()] == [ext]
    assert stack.busy() == []


def test_a_job_due_soon_is_not_quiet_and_the_message_says_what_is_left(stack):
    stack.connect()
    stack.ctx.queue.poll_connection(stack.connection_id, delay=60)   # due in a minute: outside the horizon
    stack.wait_quiet(timeout=5)
    stack.ctx.queue.poll_connection(stack.connection_id, delay=1.5)  # within it
    with pytest.raises(AssertionError, match="jobs due within 2 s"):
        stack.wait_quiet(timeout=0.5)
