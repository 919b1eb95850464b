"""The admin's Stock and Returns tabs, as the signed-in merchant sees them: each product with its
offer, the status of its newest stock update, the last value sent and when (a product not listed
on the marketplace is Skipped, not an error); returns open and handled. Scoped to the shop."""

from __future__ import annotations

import re

import pytest

from plugin.demo.stack import SELLER
from tests.e2e.merchant_browser import Browser
from tests.e2e.sandbox_helpers import (
    add_offers,
    add_products,
    bol_order,
    ean,
    links,
    no_reconcile,
    set_shop_stock,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def merchant(stack):
    stack.connect(settings={"stock_sync": True, "stock_match_by": "ean", "returns_action": "note"})
    no_reconcile(stack)
    browser = Browser()
    browser.install(stack.app_url, stack.woo_url)      # the same shop: its keys are renewed, settings kept
    yield browser
    browser.close()


def _row(html: str, attr: str, value) -> str:
    match = re.search(rf'<tr {attr}="{value}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attr}={value}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_stock_tab_shows_status_last_value_and_when(stack, merchant):
    listed, unlisted = add_products(stack, [{"sku": "SKU-A", "ean": ean(1), "stock": 4},
                                            {"sku": "SKU-B", "ean": ean(2), "stock": 9}])
    add_offers(stack, [{"ean": ean(1), "reference": "SKU-A", "stock": 0}])
    set_shop_stock(stack, listed["id"], 6)
    set_shop_stock(stack, unlisted["id"], 8)
    stack.wait_for(lambda: (row := links(stack).get(listed["id"])) and row.stock_status == "sent", what="sent")
    stack.wait_for(lambda: (row := links(stack).get(unlisted["id"])) and row.stock_status == "skipped",
                   what="skipped")
    page = merchant.get(f"{stack.app_url}/admin/stock")
    assert page.status_code == 200
    sent = _row(page.text, "data-product", listed["id"])
    assert "SKU-A" in sent and "Sent" in sent and re.search(r"\b6\b", sent) and re.search(r"\d{4}-\d\d-\d\d", sent)
    skipped = _row(page.text, "data-product", unlisted["id"])
    assert "Skipped" in skipped and "Error" not in skipped
    assert 'id="stock-tab-skipped"' in page.text
    only_skipped = merchant.get(f"{stack.app_url}/admin/stock", params={"tab": "skipped"})
    assert f'data-product="{unlisted["id"]}"' in only_skipped.text and f'data-product="{listed["id"]}"' not in only_skipped.text
    found = merchant.get(f"{stack.app_url}/admin/stock", params={"q": "SKU-A"})
    assert f'data-product="{listed["id"]}"' in found.text and f'data-product="{unlisted["id"]}"' not in found.text
    assert merchant.get(f"{stack.app_url}/admin/stock", params={"tab": "nonsense"}).status_code == 400


def test_the_returns_tab_lists_open_then_handled(stack, merchant):
    ext, shop_order_id = stack.order_in_shop()
    stack.complete(shop_order_id, "PostNL", "3SADMINRET001")
    stack.wait_for(lambda: (sh := stack.shipment_rows().get(ext)) and sh.state == "success", what="shipped")
    item = bol_order(stack, ext)["orderItems"][0]["orderItemId"]
    rma = stack.bol.post("/_sandbox/returns", json={"client_id": SELLER[0], "items": [
        {"order_item_id": item, "quantity": 1, "main_reason": "Defect"}]}).json()["rma_ids"][0]
    stack.ctx.queue.poll_returns(stack.connection_id)
    stack.wait_for(lambda: f'data-rma="{rma}"' in merchant.get(f"{stack.app_url}/admin/returns").text,
                   what="the return in the Open tab")
    row = _row(merchant.get(f"{stack.app_url}/admin/returns").text, "data-rma", rma)
    assert ext in row and "registered" in row
    assert f'data-rma="{rma}"' not in merchant.get(f"{stack.app_url}/admin/returns", params={"tab": "handled"}).text
    # the merchant refunds the returned line in the shop: handled on bol, and in the Handled tab
    line = stack.woo.get("/_sandbox/orders").json()
    [order] = [o for o in line if o["id"] == shop_order_id]
    first = order["line_items"][0]
    amount = f"{float(first['total']) / first['quantity']:.2f}"
    stack.woo.post(f"/_sandbox/orders/{shop_order_id}/refund", json={
        "amount": amount, "reason": "came back", "restock_items": True,
        "line_items": [{"id": first["id"], "quantity": 1, "refund_total": amount}]}).raise_for_status()
    stack.wait_for(lambda: f'data-rma="{rma}"' in merchant.get(f"{stack.app_url}/admin/returns",
                                                              params={"tab": "handled"}).text,
                   timeout=30, what="the return in the Handled tab")
    row = _row(merchant.get(f"{stack.app_url}/admin/returns", params={"tab": "handled"}).text, "data-rma", rma)
    assert "handled" in row and "RETURN_RECEIVED" in row
    assert f'data-rma="{rma}"' not in merchant.get(f"{stack.app_url}/admin/returns").text   # no longer open


def test_superseded_and_in_sync_products_have_their_tabs(stack, merchant):
    from plugin.store import models
    listed, other = add_products(stack, [{"sku": "SKU-S", "ean": ean(3), "stock": 4},
                                         {"sku": "SKU-T", "ean": ean(4), "stock": 5}])
    add_offers(stack, [{"ean": ean(3), "reference": "SKU-S", "stock": 0},
                       {"ean": ean(4), "reference": "SKU-T", "stock": 0}])
    set_shop_stock(stack, listed["id"], 6)
    link = stack.wait_for(lambda: (row := links(stack).get(listed["id"])) and row.stock_status == "sent" and row,
                          what="sent")
    with stack.ctx.db.session() as s:      # a value a newer one replaced before it was sent
        s.add(models.StockUpdate(connection_id=link.connection_id, link_id=link.id, offer_id=link.offer_id,
                                 amount=5, trigger="product.updated", state="superseded"))
    counts = merchant.get(f"{stack.app_url}/admin/stock")
    assert re.search(r'id="stock-tab-superseded"[^>]*>Superseded <span class="count">1<', counts.text)
    page = merchant.get(f"{stack.app_url}/admin/stock", params={"tab": "superseded"})
    assert f'data-product="{listed["id"]}"' in page.text and f'data-product="{other["id"]}"' not in page.text
    assert merchant.get(f"{stack.app_url}/admin/stock", params={"tab": "in_sync"}).status_code == 200
