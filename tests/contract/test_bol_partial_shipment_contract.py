"""Partial shipments against the bol sandbox over real HTTP: some items of an order, or a part of
an item's quantity, each shipment with its own transport; what is shipped is never shipped again,
and a lost answer is found again among the item's processes without taking another part's."""

from __future__ import annotations

import pytest

from adapters.bol import BolMarketplace
from adapters.errors import Transient
from plugin.sync.ports import ShipmentRequest
from tests.contract.conftest_bol import Sandbox


def _wait(bol: BolMarketplace, process_id: str):
    return bol.wait_for_process(process_id, timeout=5.0, interval=0.02)


def _order(bol_sandbox: Sandbox):
    """One order of two items: 3 of the first, 1 of the second."""
    a, b = bol_sandbox.add_offers({"ean": "8712345000011"}, {"ean": "8712345000028"})
    order = bol_sandbox.order_of((a, 3), (b, 1))
    return order, order.items[0].order_item_id, order.items[1].order_item_id


def _ship(order, lines, tnt, quantities=(), other=()) -> ShipmentRequest:
    return ShipmentRequest(external_order_id=order.order_id, line_ids=tuple(lines), reference=f"ob-1-{tnt}",
                           transporter_code="TNT", track_and_trace=tnt, quantities=tuple(quantities),
                           other_processes=tuple(other))


def test_items_ship_separately_each_with_its_own_track_and_trace(bol: BolMarketplace, bol_sandbox: Sandbox):
    order, first, second = _order(bol_sandbox)

    part = _wait(bol, bol.ship(_ship(order, [first], "3STNT0000001", [(first, 2)])).process_id)
    other = _wait(bol, bol.ship(_ship(order, [second], "3STNT0000002")).process_id)
    rest = _wait(bol, bol.ship(_ship(order, [first], "3STNT0000003")).process_id)   # its open quantity: 1

    assert (part.status, other.status, rest.status) == ("SUCCESS", "SUCCESS", "SUCCESS")
    received = bol_sandbox.shipments_for(order.order_id)
    assert [r["body"]["orderItems"] for r in received] == [
        [{"orderItemId": first, "quantity": 2}], [{"orderItemId": second}], [{"orderItemId": first}]]
    assert [r["body"]["transport"]["trackAndTrace"] for r in received] == ["3STNT0000001", "3STNT0000002",
                                                                          "3STNT0000003"]
    assert [i.quantity_shipped for i in order.items] == [3, 1]
    assert order.order_id not in {s.external_id for s in bol.list_open_orders()}


def test_a_shipped_quantity_is_never_shipped_again(bol: BolMarketplace, bol_sandbox: Sandbox):
    order, first, second = _order(bol_sandbox)
    assert _wait(bol, bol.ship(_ship(order, [first], "3STNT0000001", [(first, 2)])).process_id).status == "SUCCESS"

    too_much = _wait(bol, bol.ship(_ship(order, [first], "3STNT0000002", [(first, 2)])).process_id)
    assert too_much.status == "FAILURE" and "exceeds the open quantity" in (too_much.error or "")
    assert _wait(bol, bol.ship(_ship(order, [first, second], "3STNT0000003")).process_id).status == "SUCCESS"
    again = _wait(bol, bol.ship(_ship(order, [second], "3STNT0000004")).process_id)
    assert again.status == "FAILURE" and "already been shipped" in (again.error or "")
    assert [i.quantity_shipped for i in order.items] == [3, 1]


def test_a_lost_answer_is_found_without_taking_another_parts_process(bol: BolMarketplace, bol_sandbox: Sandbox):
    order, first, _ = _order(bol_sandbox)
    one = _ship(order, [first], "3STNT0000001", [(first, 1)])
    first_process = _wait(bol, bol.ship(one).process_id)
    # the second part's answer is lost: bol has its process all the same
    with bol_sandbox.state.lock:
        bol_sandbox.state.faults.fail_after_commit_next = 1
    two = _ship(order, [first], "3STNT0000002", [(first, 1)], other=[first_process.process_id])
    with pytest.raises(Transient):
        bol.ship(two)

    found = bol.find_shipment_process(two)
    assert found is not None and found.process_id != first_process.process_id
    # a third part that never left finds nothing: both processes are the other parts'
    three = _ship(order, [first], "3STNT0000003", [(first, 1)], other=[first_process.process_id, found.process_id])
    assert bol.find_shipment_process(three) is None
    assert len(bol_sandbox.shipments_for(order.order_id)) == 2
