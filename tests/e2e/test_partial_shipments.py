"""Partial shipments end to end: the merchant ships some lines with their own track & trace
(AST's products_list) while the order is processing; bol gets exactly those items with that T&T,
the rest follows on completion (with its T&T, or after the grace), and nothing is ever shipped
twice: not after a lost answer, a redelivered webhook, nor two workers applying the same view."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from adapters.woocommerce.mapping import our_line_ids
from plugin.demo.stack import SELLER
from plugin.store import models
from plugin.sync.apply_shop_change import apply_shop_order
from plugin.sync.grace_sweep import grace_sweep
from plugin.sync.push_shipment import push_shipment
from plugin.sync.resend import resend
from tests.e2e.merchant_browser import Browser
from tests.e2e.sandbox_helpers import held, set_faults

pytestmark = pytest.mark.e2e


def _two_line_order(stack) -> tuple[str, int, dict[str, int]]:
    """A bol order of two items, created in the shop: (external id, shop order id, {marketplace
    line id: shop line item id})."""
    response = stack.bol.post("/_sandbox/orders", json={"client_id": SELLER[0], "count": 1, "items_per_order": 2})
    response.raise_for_status()
    [ext] = response.json()["order_ids"]
    stack.poll()
    [created] = stack.wait_for(lambda: stack.shop_orders_by_external().get(ext), what="order created in the shop")
    lines = {external: item_id for item_id, external in our_line_ids(created).items()}
    assert len(lines) == 2
    return ext, created["id"], lines


def _ship_lines(stack, shop_order_id: int, number: str, item_ids: list[int], provider: str = "PostNL") -> None:
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/tracking", json={
        "tracking_provider": provider, "tracking_number": number,
        "products_list": [{"item_id": item_id} for item_id in item_ids]}).raise_for_status()


def _shipments(stack, ext: str) -> list[models.Shipment]:
    with stack.ctx.db.session() as s:
        order = s.scalar(select(models.Order).where(models.Order.external_id == ext))
        return list(s.scalars(select(models.Shipment).where(models.Shipment.order_id == order.id)
                              .order_by(models.Shipment.id)))


def _bol_shipments(stack, ext: str) -> list[dict]:
    return [s for s in stack.shipments() if s["order_id"] == ext]


def _confirmed(stack, ext: str, count: int):
    rows = _shipments(stack, ext)
    return len(rows) == count and all(r.state == "success" for r in rows) and rows


def test_two_lines_with_two_track_and_traces_are_two_bol_shipments(stack):
    stack.connect()
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), (second, second_item) = lines.items()

    _ship_lines(stack, shop_order_id, "3SPART000001", [first_item])
    stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="the first line confirmed")
    assert stack.order_rows()[ext].status == "not_shipped"     # the other line has not left yet
    _ship_lines(stack, shop_order_id, "JVGL00000002", [second_item], provider="DHL")
    rows = stack.wait_for(lambda: _confirmed(stack, ext, 2), timeout=30, what="both lines confirmed")

    received = _bol_shipments(stack, ext)
    assert [r["body"]["orderItems"] for r in received] == [[{"orderItemId": first}], [{"orderItemId": second}]]
    assert [r["body"]["transport"]["trackAndTrace"] for r in received] == ["3SPART000001", "JVGL00000002"]
    assert all(r["status"] == "SUCCESS" for r in received)
    assert [r.key for r in rows] == ["3SPART000001", "JVGL00000002"]
    order = stack.order_rows()[ext]
    assert order.status == "shipped"
    with stack.ctx.db.session() as s:
        shipped = {line.external_line_id: line.shipped_quantity - line.quantity
                   for line in s.get(models.Order, order.id).lines}
    assert shipped == {first: 0, second: 0}

    # the order page shows each shipment with its own T&T, and each line's state
    browser = Browser()
    try:
        browser.install(stack.app_url, stack.woo_url)
        page = browser.get(f"{stack.app_url}/admin/orders/{order.id}").text
    finally:
        browser.close()
    assert 'id="shipments"' in page and "3SPART000001" in page and "JVGL00000002" in page
    assert page.count('class="line-state">shipped<') == 2


def test_one_line_shipped_then_completed_without_track_and_trace_ships_the_rest_after_the_grace(stack):
    stack.connect(settings={"grace_seconds": 1})
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), (second, _) = lines.items()

    _ship_lines(stack, shop_order_id, "3SPART000003", [first_item])
    stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="the first line confirmed")
    stack.complete(shop_order_id)
    stack.wait_for(lambda: stack.order_rows()[ext].status == "waiting", what="waiting for the rest's T&T")
    time.sleep(1.1)
    assert grace_sweep(stack.ctx)
    rows = stack.wait_for(lambda: _confirmed(stack, ext, 2), timeout=30, what="the rest confirmed")

    assert [r.key for r in rows] == ["3SPART000003", "rest"]
    part, rest = _bol_shipments(stack, ext)
    assert part["body"]["orderItems"] == [{"orderItemId": first}]
    assert part["body"]["transport"] == {"transporterCode": "TNT", "trackAndTrace": "3SPART000003"}
    assert rest["body"]["orderItems"] == [{"orderItemId": second}] and not rest["body"].get("transport")
    assert stack.order_rows()[ext].status == "shipped"


def test_completion_with_track_and_trace_ships_the_rest_with_it(stack):
    stack.connect()
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), (second, _) = lines.items()
    _ship_lines(stack, shop_order_id, "3SPART000004", [first_item])
    stack.complete(shop_order_id, "PostNL", "3SREST000004")
    stack.wait_for(lambda: _confirmed(stack, ext, 2), timeout=30, what="both shipments confirmed")
    by_tnt = {r["body"]["transport"]["trackAndTrace"]: r["body"]["orderItems"] for r in _bol_shipments(stack, ext)}
    assert by_tnt == {"3SPART000004": [{"orderItemId": first}], "3SREST000004": [{"orderItemId": second}]}


def test_a_lost_answer_of_a_partial_shipment_is_one_bol_shipment(stack):
    stack.connect()
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), _ = lines.items()
    set_faults(stack.bol, fail_after_commit_next=1)

    _ship_lines(stack, shop_order_id, "3SLOST000005", [first_item])
    [row] = stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="the partial shipment confirmed")

    received = _bol_shipments(stack, ext)
    assert len(received) == 1, received
    assert received[0]["body"]["orderItems"] == [{"orderItemId": first}]
    assert row.attempts >= 2   # the first attempt lost its answer; the next one found it
    assert stack.order_rows()[ext].status == "not_shipped"


def test_a_garbled_answer_given_up_then_resent_finds_the_partial_shipment(stack):
    """bol took the partial shipment but answered 202 with no process status: orderbridge gives up
    (the outcome is unknown, the order is in error); the merchant's Resend looks it up first."""
    stack.connect()
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), (second, second_item) = lines.items()
    set_faults(stack.bol, garble_after_commit_next=1)

    _ship_lines(stack, shop_order_id, "3SGARBLE0006", [first_item])
    stack.wait_for(lambda: stack.order_rows()[ext].status == "error", timeout=30, what="push given up")
    [row] = _shipments(stack, ext)
    assert row.state == "failed" and row.sent_at is not None
    resend(stack.ctx, stack.shop_id, stack.order_rows()[ext].id)
    stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="the earlier shipment found")
    assert stack.order_rows()[ext].status == "not_shipped"
    assert len(_bol_shipments(stack, ext)) == 1

    # the other line still ships on its own, and then the order is shipped
    _ship_lines(stack, shop_order_id, "3SGARBLE0007", [second_item])
    stack.wait_for(lambda: _confirmed(stack, ext, 2), timeout=30, what="the second line confirmed")
    assert [r["body"]["orderItems"] for r in _bol_shipments(stack, ext)] == [[{"orderItemId": first}],
                                                                            [{"orderItemId": second}]]
    assert stack.order_rows()[ext].status == "shipped"


def test_the_same_webhook_delivered_twice_is_one_shipment(stack):
    stack.connect()
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), _ = lines.items()
    set_faults(stack.woo, redeliver_rate=1.0)

    _ship_lines(stack, shop_order_id, "3SREDELIVER6", [first_item])
    stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="the partial shipment confirmed")
    stack.wait_quiet()
    sent = [d for d in stack.deliveries() if d.get("order_id") == shop_order_id]
    assert any(d.get("redelivery") for d in sent)
    assert len(_shipments(stack, ext)) == 1
    assert len(_bol_shipments(stack, ext)) == 1


def test_two_workers_applying_the_same_view_write_one_shipment(stack):
    stack.connect()
    stack.pause_webhooks()   # only the two "workers" below apply the view
    ext, shop_order_id, lines = _two_line_order(stack)
    (first, first_item), _ = lines.items()
    _ship_lines(stack, shop_order_id, "3SRACE000007", [first_item])
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
    view = stack.ctx.adapters.shop(shop).get_order(shop_order_id)
    ctx = held(stack)
    results, errors = [], []
    start = threading.Barrier(2)

    def apply():
        try:
            start.wait()
            results.append(apply_shop_order(ctx, stack.shop_id, view, "race"))
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=apply) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    assert sorted(results) == ["lines shipped", "no change"]
    [row] = _shipments(stack, ext)
    assert (row.key, row.line_ids, row.state) == ("3SRACE000007", [first], "pending")
    # both pushes run (the job was enqueued twice): one request reaches bol
    for _ in range(2):
        push_shipment(stack.ctx, row.id)
    stack.wait_for(lambda: _confirmed(stack, ext, 1), timeout=30, what="confirmed")
    assert len(_bol_shipments(stack, ext)) == 1


def test_migration_0004_backfills_rest_and_keys_shipments_per_order(database_url):
    """Existing shipments become their order's "rest"; afterwards an order holds several
    shipments, never two of one key; going down keeps the rest."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from plugin.demo.stack import reset_database
    from plugin.store.db import make_engine
    from plugin.store.schema import downgrade, upgrade

    def fill(connection, table: str, **values) -> int:
        """A row with every NOT NULL column given a value of its type (reflected at this revision)."""
        reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
        for column in reflected.columns:
            if column.name in values or column.primary_key or column.nullable or column.server_default is not None:
                continue
            kind = column.type
            values[column.name] = (datetime.now(UTC) if isinstance(kind, sa.DateTime)
                                   else 0 if isinstance(kind, sa.Integer) else False if isinstance(kind, sa.Boolean)
                                   else {} if isinstance(kind, sa.JSON) else f"{table}-{column.name}")
        return connection.execute(sa.insert(reflected).values(**values).returning(reflected.c.id)).scalar_one()

    reset_database(database_url)      # empty, at head: then down to the revision before
    downgrade(database_url, "0003")
    engine = make_engine(database_url)
    try:
        with engine.begin() as c:
            shop = fill(c, "shops", status="active")   # states a machine knows: 0006 checks them
            connection = fill(c, "connections", shop_id=shop)
            order = fill(c, "orders", shop_id=shop, connection_id=connection, external_id="A-MIGRATE",
                         status="not_shipped")
            fill(c, "shipments", order_id=order, state="success", reference="ob-old")
        upgrade(database_url)
        with engine.begin() as c:
            assert c.execute(sa.text("SELECT key FROM shipments WHERE order_id = :o"), {"o": order}).scalars().all() \
                == ["rest"]
            fill(c, "shipments", order_id=order, key="3SNEW", state="pending", reference="ob-new")
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
            fill(c, "shipments", order_id=order, key="3SNEW", state="pending", reference="ob-again")
        downgrade(database_url, "0003")
        with engine.begin() as c:
            assert c.execute(sa.text("SELECT reference FROM shipments")).scalars().all() == ["ob-old"]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
            fill(c, "shipments", order_id=order, state="pending", reference="ob-second")
    finally:
        engine.dispose()
        upgrade(database_url)
