"""The real WooCommerceShop against the WooCommerce sandbox: finding an order line's product
(find_products by SKU and by EAN: GTIN or a meta key), creating lines by product id and
variation id so the shop takes their stock off, and what WooCommerce does with a line that
names an unknown sku, an unknown id, or nothing at all."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.errors import Rejected
from adapters.woocommerce import WooClient
from plugin.sync.ports import Address, MarketplaceLine, ShopOrderDraft
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    shop_for,
)

CATALOG = [
    {"name": "Koffiemolen", "sku": "KM-1", "global_unique_id": "8712345678901", "manage_stock": True,
     "stock_quantity": 10, "regular_price": "24.95", "meta_data": [{"key": "_ean_plugin", "value": "8700000000017"}]},
    {"name": "Gift card", "sku": "GIFT", "global_unique_id": "8712345678956", "regular_price": "25.00"},
    {"name": "Shirt", "sku": "SH", "variations": [
        {"sku": "SH-RED", "global_unique_id": "8712345678918", "manage_stock": True, "stock_quantity": 4,
         "attributes": [{"name": "Color", "option": "Red"}]},
        {"sku": "SH-BLUE", "global_unique_id": "8712345678925", "manage_stock": True, "stock_quantity": 3,
         "attributes": [{"name": "Color", "option": "Blue"}]}]},
]
ADDRESS = Address(first_name="Anna", last_name="de Vries", street="Kerkstraat", house_number="12",
                  zip_code="1234 AB", city="Utrecht", country_code="NL", email="anna@example.nl")


class CountingClient(WooClient):
    """The real client, counting the GETs (a look-up must stay cheap)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gets: list[str] = []

    def get(self, endpoint, params=None):
        self.gets.append(endpoint)
        return super().get(endpoint, params)


def counting_shop(sandbox, **options):
    client = CountingClient(sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    return shop_for(sandbox, client=client, **options), client


def test_find_products_by_sku_covers_variations_in_one_request(woo_sandbox, woo_shop):
    woo_sandbox.products(CATALOG)
    counted, client = counting_shop(woo_sandbox)
    found = {p.sku: p for p in counted.find_products(skus=("KM-1", "SH-RED", "NOPE", "SH"))}
    assert client.gets == ["products"]
    # the variable product itself is not sold (its variations are): not a line's product
    assert set(found) == {"KM-1", "SH-RED"}
    assert found["KM-1"].parent_id is None and found["KM-1"].ean == "8712345678901"
    assert found["SH-RED"].parent_id == woo_sandbox.state.products[found["SH-RED"].id].parent_id != 0
    assert woo_shop.find_products() == [] and woo_shop.find_products(skus=("", " ")) == []


def test_find_products_by_ean_reads_the_catalogue_gtin_or_meta_key(woo_sandbox, woo_shop):
    woo_sandbox.products(CATALOG)
    by_gtin = {p.ean: p for p in woo_shop.find_products(eans=("8712345678925", "8712345678956", "0000000000000"))}
    assert {e: p.sku for e, p in by_gtin.items()} == {"8712345678925": "SH-BLUE", "8712345678956": "GIFT"}
    assert by_gtin["8712345678956"].stock is None          # found whatever its stock setting
    meta_shop = shop_for(woo_sandbox, ean_meta_key="_ean_plugin")
    assert [p.sku for p in meta_shop.find_products(eans=("8700000000017",))] == ["KM-1"]


def test_lines_created_by_product_and_variation_id_take_the_stock_and_carry_no_meta_of_ours(woo_sandbox, woo_shop):
    made = woo_sandbox.products(CATALOG)
    products = {p.sku: p for p in woo_shop.find_products(skus=("KM-1", "SH-RED"))}
    lines = (MarketplaceLine("L1", "8712345678901", "Koffiemolen (bol)", 2, Decimal("20.00"), sku="BOL-REF-KM"),
             MarketplaceLine("L2", "8712345678918", "Shirt rood", 1, Decimal("10.00")),
             MarketplaceLine("L3", "8799999999999", "Onbekend", 1, Decimal("5.00"), sku="NOT-IN-SHOP"))
    draft = ShopOrderDraft(ref="ob-7", marketplace="bol", external_id="B7", status="processing", lines=lines,
                           shipping=ADDRESS, line_products=(products["KM-1"], products["SH-RED"], None))
    created = woo_shop.create_order(draft)

    raw = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True).get(
        f"orders/{created.id}").data
    items = raw["line_items"]
    shirt = made["SH-RED"]
    assert [(i["product_id"], i["variation_id"], i["name"], i["total"]) for i in items] == [
        (made["KM-1"]["id"], 0, "Koffiemolen (bol)", "40.00"),
        (shirt["parent_id"], shirt["id"], "Shirt rood", "10.00"),
        (0, 0, "Onbekend", "5.00")]
    assert woo_sandbox.stock_of(made["KM-1"]["id"]) == 8 and woo_sandbox.stock_of(shirt["id"]) == 3
    # WooCommerce's order screen shows every line item meta not on its hidden list: none of ours
    assert not [m for i in items for m in i["meta_data"] if m["key"].startswith("_orderbridge")]
    assert raw["payment_method"] == raw["payment_method_title"] == "bol.com"
    ours = {m["key"]: m["value"] for m in raw["meta_data"]}
    assert [e["line"] for e in json.loads(ours["_orderbridge_lines"])] == ["L1", "L2", "L3"]
    # every flow that resolves our lines reads them back
    assert [(line.external_line_id, line.product_id) for line in woo_shop.order_lines(created.id)] == [
        ("L1", made["KM-1"]["id"]), ("L2", shirt["id"]), ("L3", None)]
    woo_shop.remove_lines(created.id, ("L2",), "bol.com: buyer cancelled L2")
    assert woo_sandbox.stock_of(shirt["id"]) == 4


@pytest.mark.parametrize(("line", "product", "variation"), [
    ({"sku": "NOT-A-SKU"}, 0, 0),                 # an unknown sku: a line without product
    ({"product_id": 999999}, 0, 0),               # wc_get_product() false: not linked
    ({"product_id": 1, "variation_id": 999999}, 0, 0),
])
def test_sandbox_line_without_a_known_product_is_stored_with_product_zero(woo_sandbox, line, product, variation):
    woo_sandbox.products(CATALOG)
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    body = {"status": "processing", "line_items": [{**line, "name": "Los", "quantity": 1, "total": "1.00"}]}
    item = client.post("orders", body).data["line_items"][0]
    assert (item["product_id"], item["variation_id"], item["name"]) == (product, variation, "Los")


def test_sandbox_sku_wins_over_the_ids_and_a_line_naming_nothing_is_refused(woo_sandbox):
    made = woo_sandbox.products(CATALOG)
    client = WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, allow_private_hosts=True)
    item = client.post("orders", {"line_items": [{"sku": "GIFT", "product_id": made["KM-1"]["id"],
                                                  "quantity": 1}]}).data["line_items"][0]
    assert item["product_id"] == made["GIFT"]["id"]
    with pytest.raises(Rejected) as refused:
        client.post("orders", {"line_items": [{"name": "Nothing", "quantity": 1}]})
    assert refused.value.status == 400 and "woocommerce_rest_required_product_reference" in str(
        getattr(refused.value, "wc_code", "") or refused.value)
