"""The order loop end to end, asserted on the sandboxes' own records."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def _created_once(stack, ids):
    by_ext = stack.shop_orders_by_external()
    return all(len(by_ext.get(i, [])) == 1 for i in ids) and by_ext


def test_full_loop_now_later_never(stack):
    stack.connect(settings={"grace_seconds": 5,   # T&T of the "later" orders lands well within it, even on a loaded machine
                            "transporters": {"default": "TNT",
                                             "rules": [{"pattern": "^JVGL", "transporter": "DHLFORYOU",
                                                        "strip": "JVGL"}]}})
    ids = stack.seed(9)
    stack.poll()
    by_ext = stack.wait_for(lambda: _created_once(stack, ids), what="every order created in the shop")
    now, later, never = ids[:3], ids[3:6], ids[6:]
    for i, ext in enumerate(now):
        stack.complete(by_ext[ext][0]["id"], "PostNL", f"3SNOW{i:08d}")
    for ext in later + never:
        stack.complete(by_ext[ext][0]["id"])
    stack.wait_for(lambda: all(stack.order_rows()[e].status in ("waiting", "shipped") for e in later),
                   what="later orders waiting")
    for i, ext in enumerate(later):
        stack.add_tracking(by_ext[ext][0]["id"], "DHL", f"JVGL{i:010d}")

    def all_confirmed():
        rows = stack.shipment_rows()
        return len(rows) == len(ids) and all(r.state == "success" for r in rows.values())
    stack.wait_for(lambda: stack.tick() or all_confirmed(), timeout=30, what="every shipment confirmed by bol")

    # the shop holds each marketplace order exactly once
    by_ext = stack.shop_orders_by_external()
    assert sorted(by_ext) == sorted(ids)
    assert all(len(v) == 1 for v in by_ext.values())
    # bol received exactly one shipment per order, with the right transport
    received = {}
    for item in stack.shipments():
        received.setdefault(item["order_id"], []).append(item)
    assert sorted(received) == sorted(ids)
    assert all(len(v) == 1 and v[0]["status"] == "SUCCESS" for v in received.values())
    for i, ext in enumerate(now):
        assert received[ext][0]["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": f"3SNOW{i:08d}"}
    for i, ext in enumerate(later):
        assert received[ext][0]["body"]["transport"] == {"transporterCode": "DHLFORYOU",
                                                         "trackAndTrace": f"{i:010d}"}
    for ext in never:
        assert not received[ext][0]["body"].get("transport")
    rows = stack.order_rows()
    assert {rows[e].status for e in ids} == {"shipped"}


def test_repeated_polls_never_duplicate(stack):
    stack.connect()
    ids = stack.seed(5)
    for _ in range(4):
        stack.poll()
    stack.wait_for(lambda: _created_once(stack, ids), what="orders created")
    for _ in range(3):
        stack.poll()
    stack.wait_quiet()
    by_ext = stack.shop_orders_by_external()
    assert all(len(by_ext[i]) == 1 for i in ids)
    assert len(stack.order_rows()) == 5


def test_grace_ships_without_tracking(stack):
    stack.connect(settings={"grace_seconds": 1})
    [ext] = stack.seed(1)
    stack.poll()
    by_ext = stack.wait_for(lambda: _created_once(stack, [ext]), what="order created")
    stack.complete(by_ext[ext][0]["id"])
    stack.wait_for(lambda: stack.order_rows()[ext].status == "waiting", what="waiting")
    import time

    from plugin.sync.grace_sweep import grace_sweep
    time.sleep(1.1)
    assert grace_sweep(stack.ctx)
    stack.wait_for(lambda: [s for s in stack.shipments() if s["status"] == "SUCCESS"], what="shipment")
    [item] = stack.shipments()
    assert not item["body"].get("transport")
    assert stack.order_rows()[ext].tracking_number is None


def test_missing_transporter_is_an_error_a_person_sees(stack):
    stack.connect(settings={"transporters": {"default": None, "use_provider_names": False}})
    [ext] = stack.seed(1)
    stack.poll()
    by_ext = stack.wait_for(lambda: _created_once(stack, [ext]), what="order created")
    stack.complete(by_ext[ext][0]["id"], "Local courier", "LC123")
    row = stack.wait_for(lambda: (r := stack.order_rows()[ext]).status == "error" and r, what="error")
    assert "no transporter" in row.error
    assert stack.shipments() == []


def test_marketplace_refusal_becomes_an_error_with_bols_reason(stack):
    stack.connect(settings={"transporters": {"default": "NOT-A-CARRIER", "use_provider_names": False}})
    [ext] = stack.seed(1)
    stack.poll()
    by_ext = stack.wait_for(lambda: _created_once(stack, [ext]), what="order created")
    stack.complete(by_ext[ext][0]["id"], "X", "X123")
    row = stack.wait_for(lambda: (r := stack.order_rows()[ext]).status == "error" and r, what="error")
    assert "refused" in row.error and row.error_from == "shipped"
    assert stack.shipment_rows()[ext].state == "failed"
