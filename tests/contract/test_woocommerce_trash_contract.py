"""The three ways an order reaches WooCommerce's Trash, as the real shops did it (captures in
shared/specs/woocommerce): from the admin list without HPOS (7.8) order.updated with status
"trash" then order.deleted; from the admin with HPOS (9.9) only order.deleted; through the REST
API (DELETE without force) only order.deleted, the DELETE answering with the order as it was.
order.deleted carries only {"id": N}. Restoring it sends order.updated with its earlier status."""

from __future__ import annotations

import json

import pytest

from adapters.errors import AdapterError
from adapters.woocommerce import WooClient, parse_delivery
from tests.contract import woocommerce_captures as captures
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    running_sandbox,
    shop_for,
)
from tests.contract.test_woocommerce_contract import draft

SECRET = "whsec_trash"
TOPICS = ("order.created", "order.updated", "order.deleted")


def _deliveries_after(receiver, start: int, count: int) -> list:
    received = receiver.wait_for_signed(start + count)
    return [parse_delivery(r.headers, r.body) for r in received[start:]], received[start:]


def _shop_with_order(sandbox, receiver):
    shop = shop_for(sandbox)
    shop.ensure_webhooks(receiver.url, SECRET, TOPICS)
    order = shop.create_order(draft("ob-trash"))
    sandbox.control("POST", f"orders/{order.id}/complete")
    assert sandbox.state.wait_for_deliveries()
    return shop, order, len(receiver.signed())


def _check_deleted_body(raw: bytes, order_id: int, version: str) -> None:
    """As the real shop sent it: the id alone, byte for byte in the capture's form."""
    real = [d for d in captures.of_topic(version, "order.deleted")]
    assert real and all(set(d.json()) == {"id"} for d in real)
    assert raw == f'{{"id":{order_id}}}'.encode()


def _last_update_before_each_deletion(version: str) -> dict[int, str | None]:
    """Per deleted order id: the status of the last order.updated of that order before its
    order.deleted (None: there was none)."""
    signed = [d for d in captures.deliveries(version) if not d.is_ping]
    out = {}
    for i, d in enumerate(signed):
        if d.topic == "order.deleted":
            oid = d.json()["id"]
            before = [u for u in signed[:i] if u.topic == "order.updated" and u.json().get("id") == oid]
            out[oid] = before[-1].json()["status"] if before else None
    return out


def test_the_captures_show_both_trash_paths_of_each_version():
    """What the sandbox models, read from the real shops' requests: 7.8.2 trashed orders 17 and 18
    from the admin list (order.updated "trash" first) and 15 through the REST API (the deletion
    alone); 9.9.5 with HPOS trashed 22 from the admin after its creation's updates: no "trash"
    update before the deletion."""
    old = _last_update_before_each_deletion("7.8.2")
    assert old[17] == old[18] == "trash" and old[15] is None
    new = _last_update_before_each_deletion("9.9.5")
    assert new[22] == "processing"


@pytest.mark.parametrize("version, hpos, topics", [
    ("7.8.2", False, ["order.updated", "order.deleted"]),
    ("9.9.5", True, ["order.deleted"]),
])
def test_trashed_in_the_admin(receiver, version, hpos, topics):
    with running_sandbox(wc_version=version, hpos=hpos) as sandbox:
        shop, order, start = _shop_with_order(sandbox, receiver)
        trashed = sandbox.control("POST", f"orders/{order.id}/trash").json()
        assert trashed["status"] == "trash"
        assert sandbox.state.wait_for_deliveries()
        parsed, raw = _deliveries_after(receiver, start, len(topics))
        assert [p.topic for p in parsed] == topics and len(receiver.signed()) == start + len(topics)
        if hpos is False:
            assert parsed[0].payload["status"] == "trash"
            assert {m["key"] for m in parsed[0].payload["meta_data"]} >= {"_wp_trash_meta_status",
                                                                            "_wp_trash_meta_time"}
        _check_deleted_body(raw[-1].body, order.id, version)
        # a GET of a trashed order answers it, with status "trash"
        assert shop.get_order(order.id).status == "trash"

        # restored from the Trash: its earlier status, in an order.updated
        restored = sandbox.control("POST", f"orders/{order.id}/restore").json()
        assert restored["status"] == "completed"
        assert sandbox.state.wait_for_deliveries()
        after = [parse_delivery(r.headers, r.body) for r in receiver.signed()[start + len(topics):]]
        assert [p.topic for p in after] == ["order.updated"] and after[0].payload["status"] == "completed"
        assert "_wp_trash_meta_status" not in {m["key"] for m in after[0].payload["meta_data"]}


@pytest.mark.parametrize("version", ["7.8.2", "9.9.5"])
def test_trashed_through_the_rest_api_sends_only_the_deletion_and_answers_the_order_as_it_was(receiver, version):
    with running_sandbox(wc_version=version) as sandbox:
        shop, order, start = _shop_with_order(sandbox, receiver)
        client = WooClient(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, allow_private_hosts=True)
        answer = client.delete(f"orders/{order.id}").data
        assert answer["id"] == order.id and answer["status"] == "completed"
        assert shop.get_order(order.id).status == "trash"
        assert sandbox.state.wait_for_deliveries()
        parsed, raw = _deliveries_after(receiver, start, 1)
        assert [p.topic for p in parsed] == ["order.deleted"] and len(receiver.signed()) == start + 1
        _check_deleted_body(raw[0].body, order.id, version)
        assert json.loads(raw[0].body) == {"id": order.id}
        # trashing it again: 410, as WC_REST_CRUD_Controller answers
        with pytest.raises(AdapterError) as refused:
            client.delete(f"orders/{order.id}")
        assert getattr(refused.value, "status", None) == 410
