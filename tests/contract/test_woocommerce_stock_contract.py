"""The real WooCommerceShop against the WooCommerce sandbox: products, variations, EANs, stock
reads for the reconcile and the modified_after poll, and the product.updated webhooks stock
changes cause."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.errors import NotFound, Rejected
from adapters.woocommerce import WooClient
from adapters.woocommerce.mapping import wc_to_shop_product
from plugin.sync.ports import Address, MarketplaceLine, ShopOrderDraft, ShopProduct
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    running_sandbox,
    shop_for,
)

CATALOG = [
    {"name": "Koffiemolen", "sku": "KM-1", "global_unique_id": "8712345678901", "manage_stock": True,
     "stock_quantity": 10, "regular_price": "24.95",
     "meta_data": [{"key": "_ean_plugin", "value": "8700000000017"}]},
    {"name": "Gift card", "sku": "GIFT", "regular_price": "25.00"},                      # stock not managed
    {"name": "Shirt", "sku": "SH", "variations": [
        {"sku": "SH-RED", "global_unique_id": "8712345678918", "manage_stock": True, "stock_quantity": 4,
         "attributes": [{"name": "Color", "option": "Red"}]},
        {"sku": "SH-BLUE", "global_unique_id": "8712345678925", "manage_stock": True, "stock_quantity": 0,
         "attributes": [{"name": "Color", "option": "Blue"}]}]},
    {"name": "Mug", "sku": "MUG", "manage_stock": True, "stock_quantity": 30, "variations": [   # stock on the parent
        {"sku": "MUG-S", "global_unique_id": "8712345678932", "attributes": [{"name": "Size", "option": "S"}]},
        {"sku": "MUG-L", "global_unique_id": "8712345678949", "attributes": [{"name": "Size", "option": "L"}]}]},
]
ADDRESS = Address(first_name="Anna", last_name="de Vries", street="Kerkstraat", house_number="12",
                  zip_code="1234 AB", city="Utrecht", country_code="NL", email="anna@example.nl")


def order(*lines: tuple[str, str, int], ref: str = "ob-1") -> ShopOrderDraft:
    return ShopOrderDraft(ref=ref, marketplace="bol", external_id=ref, status="processing", shipping=ADDRESS,
                          lines=tuple(MarketplaceLine(line_id, "", sku, qty, Decimal("1.00"), sku=sku)
                                      for line_id, sku, qty in lines))


def by_sku(products) -> dict[str, ShopProduct]:
    return {p.sku: p for p in products}


# ---------------------------------------------------------------------------- reading products
def test_get_product_reads_sku_ean_and_stock(woo_sandbox, woo_shop):
    made = woo_sandbox.products(CATALOG)
    km = woo_shop.get_product(made["KM-1"]["id"])
    assert km == ShopProduct(id=made["KM-1"]["id"], parent_id=None, sku="KM-1", ean="8712345678901", stock=10,
                             modified_at=woo_sandbox.clock())
    assert woo_shop.get_product(made["GIFT"]["id"]).stock is None

    red = woo_shop.get_product(made["SH-RED"]["id"])                      # a variation id works too
    assert (red.parent_id, red.sku, red.ean, red.stock) == (made["SH"]["id"], "SH-RED", "8712345678918", 4)
    small = woo_shop.get_product(made["MUG-S"]["id"])                     # stock managed by the parent
    assert (small.parent_id, small.stock) == (made["MUG"]["id"], 30)

    with pytest.raises(NotFound):
        woo_shop.get_product(999_999)


def test_the_ean_can_come_from_a_configured_meta_key(woo_sandbox):
    made = woo_sandbox.products(CATALOG)
    shop = shop_for(woo_sandbox, ean_meta_key="_ean_plugin")
    assert shop.get_product(made["KM-1"]["id"]).ean == "8700000000017"
    assert shop.get_product(made["SH-RED"]["id"]).ean == "8712345678918"   # no meta: global_unique_id


def test_all_products_is_every_managed_product_and_variation(woo_sandbox, woo_shop):
    made = woo_sandbox.products(CATALOG)
    found = by_sku(woo_shop.all_products())
    assert sorted(found) == ["KM-1", "MUG-L", "MUG-S", "SH-BLUE", "SH-RED"]   # no gift card, no parents
    assert {sku: p.stock for sku, p in found.items()} == {"KM-1": 10, "MUG-L": 30, "MUG-S": 30, "SH-BLUE": 0,
                                                         "SH-RED": 4}
    assert found["SH-RED"].parent_id == made["SH"]["id"]


def test_all_products_uses_the_global_variations_route_on_woocommerce_10_3():
    with running_sandbox(wc_version="10.3.1") as sandbox:
        sandbox.products(CATALOG)
        shop = shop_for(sandbox)
        assert sorted(by_sku(shop.all_products())) == ["KM-1", "MUG-L", "MUG-S", "SH-BLUE", "SH-RED"]
        stats = sandbox.control("GET", "stats").json()["counters"]
        assert stats.get("GET /wp-json/wc/v3/variations", 0) >= 1
        assert stats.get("GET /wp-json/wc/v3/products/<int:product_id>/variations", 0) == 0


def test_older_shops_have_no_global_variations_route(woo_sandbox):
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    with pytest.raises(NotFound) as caught:
        client.get("variations")
    assert caught.value.wc_code == "rest_no_route"


def test_all_products_pages_through_many_products(woo_sandbox, woo_shop):
    woo_sandbox.products([{"name": f"P{n}", "sku": f"P{n:03d}", "manage_stock": True, "stock_quantity": n}
                          for n in range(230)])
    found = by_sku(woo_shop.all_products())
    assert len(found) == 230 and found["P229"].stock == 229


def test_duplicate_gtin_is_refused(woo_sandbox):
    woo_sandbox.products(CATALOG)
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    with pytest.raises(Rejected) as caught:
        client.post("products", {"name": "Copy", "global_unique_id": "8712345678918"})
    assert caught.value.wc_code == "product_invalid_global_unique_id"


# ---------------------------------------------------------------------------- what changed
def test_products_modified_after_sees_merchant_edits_and_stock_taken_by_orders(woo_sandbox, woo_shop):
    made = woo_sandbox.products(CATALOG)
    woo_sandbox.clock.advance(60)
    since = woo_sandbox.clock()
    woo_sandbox.clock.advance(1)
    assert list(woo_shop.products_modified_after(since + timedelta(seconds=2))) == []

    woo_sandbox.merchant_stock(made["KM-1"]["id"], 7)                         # wp-admin edit
    woo_shop.create_order(order(("L1", "SH-RED", 1), ("L2", "MUG-L", 2)))      # stock taken by an order
    changed = by_sku(woo_shop.products_modified_after(since))
    assert {sku: p.stock for sku, p in changed.items()} == {"KM-1": 7, "SH-RED": 3, "MUG-S": 28, "MUG-L": 28}
    assert changed["SH-RED"].modified_at > since


def test_products_modified_after_on_woocommerce_10_3_gives_the_same_answer():
    with running_sandbox(wc_version="10.3.1") as sandbox:
        made = sandbox.products(CATALOG)
        shop = shop_for(sandbox)
        sandbox.clock.advance(60)
        since = sandbox.clock()
        sandbox.clock.advance(1)
        sandbox.merchant_stock(made["SH-BLUE"]["id"], 5)
        shop.create_order(order(("L1", "MUG-S", 1)))
        assert {p.sku: p.stock for p in shop.products_modified_after(since)} == {"SH-BLUE": 5, "MUG-S": 29,
                                                                                 "MUG-L": 29}


def test_a_cancellation_and_a_restocking_refund_move_stock_and_modified_dates(woo_sandbox, woo_shop):
    made = woo_sandbox.products(CATALOG)
    shop_order = woo_shop.create_order(order(("L1", "KM-1", 2), ("L2", "SH-RED", 1)))
    woo_sandbox.clock.advance(60)
    since = woo_sandbox.clock()
    woo_sandbox.clock.advance(1)
    woo_shop.remove_lines(shop_order.id, ("L2",), "cancelled L2")
    assert {p.sku: p.stock for p in woo_shop.products_modified_after(since)} == {"SH-RED": 4}
    woo_sandbox.clock.advance(60)
    since = woo_sandbox.clock()
    woo_sandbox.clock.advance(1)
    woo_shop.cancel_order(shop_order.id, "cancelled")
    assert {p.sku: p.stock for p in woo_shop.products_modified_after(since)} == {"KM-1": 10}
    assert woo_shop.get_product(made["SH-RED"]["id"]).stock == 4


# ---------------------------------------------------------------------------- product.updated webhooks
def product_updates(sandbox, receiver) -> list[dict]:
    assert sandbox.state.wait_for_deliveries()
    return [json.loads(r.body) for r in receiver.requests if r.headers.get("X-Wc-Webhook-Topic") == "product.updated"]


def test_product_updated_fires_for_merchant_edits_and_for_stock_moved_by_orders(woo_sandbox, woo_shop, receiver):
    made = woo_sandbox.products(CATALOG)
    woo_shop.ensure_webhooks(receiver.url, "whsec_1", ("product.updated",))
    assert product_updates(woo_sandbox, receiver) == []

    woo_sandbox.merchant_stock(made["KM-1"]["id"], 9)
    [edit] = product_updates(woo_sandbox, receiver)
    assert (edit["id"], edit["stock_quantity"]) == (made["KM-1"]["id"], 9)
    receiver.requests.clear()

    # One order taking stock of three products: one product.updated each (the stock saves the
    # product: wc_update_product_stock -> $product->save() -> woocommerce_update_product*).
    woo_shop.create_order(order(("L1", "KM-1", 1), ("L2", "SH-RED", 1), ("L3", "MUG-S", 1)))
    bodies = product_updates(woo_sandbox, receiver)
    assert sorted((b["id"], b["stock_quantity"]) for b in bodies) == sorted(
        [(made["KM-1"]["id"], 8), (made["SH-RED"]["id"], 3), (made["MUG"]["id"], 29)])
    variation = next(b for b in bodies if b["id"] == made["SH-RED"]["id"])
    parsed = wc_to_shop_product(variation)
    assert (parsed.parent_id, parsed.sku, parsed.ean, parsed.stock) == (made["SH"]["id"], "SH-RED", "8712345678918", 3)


def test_an_order_without_managed_stock_fires_no_product_updated(woo_sandbox, woo_shop, receiver):
    woo_sandbox.products(CATALOG)
    woo_shop.ensure_webhooks(receiver.url, "whsec_1", ("product.updated",))
    woo_shop.create_order(order(("L1", "GIFT", 1), ("L2", "UNKNOWN-SKU", 1)))
    assert product_updates(woo_sandbox, receiver) == []


def test_rest_product_update_and_variation_update_fire_product_updated(woo_sandbox, woo_shop, receiver):
    made = woo_sandbox.products(CATALOG)
    woo_shop.ensure_webhooks(receiver.url, "whsec_1", ("product.updated",))
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    client.put(f"products/{made['SH']['id']}/variations/{made['SH-BLUE']['id']}", {"stock_quantity": 6})
    [body] = product_updates(woo_sandbox, receiver)
    assert (body["id"], body["type"], body["stock_quantity"]) == (made["SH-BLUE"]["id"], "variation", 6)
    variations = client.get(f"products/{made['MUG']['id']}/variations", {"orderby": "id", "order": "asc"}).data
    assert [(v["sku"], v["manage_stock"], v["stock_quantity"]) for v in variations] == [
        ("MUG-S", "parent", 30), ("MUG-L", "parent", 30)]
