"""A bol order's lines reach the shop linked to their products, found by the shop's own
matching rule (here EAN/GTIN, the default), so the shop takes the stock off: also when the bol
offer's reference is not the shop's SKU, or the offer has no reference. A line whose product is
not in the shop is still created, and its order's timeline says so."""

from __future__ import annotations

import pytest

from tests.e2e.sandbox_helpers import (
    add_offers,
    add_products,
    ean,
    no_reconcile,
    offer_amounts,
    order_row,
    seed_from_offers,
    shop_stock,
)

pytestmark = pytest.mark.e2e


def test_lines_carry_their_product_and_the_shop_stock_goes_down(stack):
    stack.connect(settings={"stock_sync": True, "stock_match_by": "ean"})
    no_reconcile(stack)            # no offer links yet: the lines are found in the shop itself
    mill, kettle = add_products(stack, [{"sku": "SHOP-MILL", "ean": ean(1), "stock": 10},
                                        {"sku": "SHOP-KETTLE", "ean": ean(2), "stock": 6}])
    offers = add_offers(stack, [{"ean": ean(1), "reference": "BOL-MILL-7", "stock": 10},   # not the shop SKU
                                {"ean": ean(2), "stock": 6},                               # no reference
                                {"ean": ean(3), "reference": "GONE", "stock": 1}])         # not in the shop
    by_ean = {o["ean"]: o["offerId"] for o in offers}
    ext = seed_from_offers(stack, [{"offer_id": by_ean[ean(1)], "quantity": 2},
                                   {"offer_id": by_ean[ean(2)], "quantity": 1},
                                   {"offer_id": by_ean[ean(3)], "quantity": 1}])
    stack.poll()
    [created] = stack.wait_for(lambda: stack.shop_orders_by_external().get(ext), what="order created in the shop")

    assert len(created["line_items"]) == 3
    linked = sorted((item["product_id"], item["quantity"]) for item in created["line_items"] if item["product_id"])
    assert linked == sorted([(mill["id"], 2), (kettle["id"], 1)])
    assert [item["product_id"] for item in created["line_items"] if not item["product_id"]] == [0]
    assert shop_stock(stack)[mill["id"]] == 8 and shop_stock(stack)[kettle["id"]] == 5
    # no meta of ours on the lines (the shop's order screen would show it), paid "via bol.com"
    assert not [m for item in created["line_items"] for m in item["meta_data"] if m["key"].startswith("_orderbridge")]
    assert created["payment_method_title"] == "bol.com"

    order = order_row(stack, ext)
    missing = next(line for line in order.lines if line.ean == ean(3))
    notes = [m for m in stack.timeline(order.id) if "has no product in the shop" in m]
    assert len(notes) == 1 and missing.external_line_id in notes[0] and ean(3) in notes[0]
    # bol.com ends with what the shop has now
    stack.wait_for(lambda: offer_amounts(stack)[ean(1)] == 8 and offer_amounts(stack)[ean(2)] == 5,
                   what="bol offers at the shop's new stock")
