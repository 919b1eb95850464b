"""Test mode: orders come into the shop as always, but nothing is sent to the marketplace; the
shipment ends in `test` with the transport it would have carried (the merchant's rules at work)."""

from __future__ import annotations

import time

import pytest

from plugin.store.order_views import tab_counts

pytestmark = pytest.mark.e2e


def test_test_mode_sends_nothing_to_the_marketplace_and_says_what_it_would_have_sent(stack):
    stack.connect(settings={"test_mode": True, "transporters": {
        "default": "TNT", "rules": [{"pattern": "^JVGL", "transporter": "DHLFORYOU", "strip": "JVGL"}]}})
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id, "", "JVGL0000777")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "test", what="test shipment")
    shipment = stack.shipment_rows()[ext]
    assert (shipment.transporter_code, shipment.track_and_trace, shipment.sent_at) == ("DHLFORYOU", "0000777", None)
    time.sleep(0.5)
    stack.tick()                     # the sweeps leave a test shipment alone
    stack.wait_quiet()
    assert stack.shipments() == []
    order = stack.order_rows()[ext]
    assert order.status == "shipped"
    assert any("would have been sent DHLFORYOU 0000777" in e for e in _timeline(stack, order.id))
    with stack.ctx.db.session() as s:
        counts = tab_counts(s, stack.shop_id)
    assert (counts["shipped"], counts["pending_shipment"]) == (1, 0)


def _timeline(stack, order_id):
    from sqlalchemy import select

    from plugin.store import models
    with stack.ctx.db.session() as s:
        return [e.message for e in s.scalars(select(models.TimelineEntry).where(models.TimelineEntry.order_id == order_id))]
