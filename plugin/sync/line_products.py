"""Which shop product each line of a marketplace order is, found before the order is created.

A shop order line must name its product, or the shop takes no stock off for it (WooCommerce
stores a line whose sku matches no product with product_id 0), and the stock we send the
marketplace next is computed from that unchanged stock: units that are gone stay for sale on
both sides. So each line is looked up by the shop's own matching rule, the one stock sync uses
(settings `stock_match_by`: the EAN, i.e. the GTIN field or the configured EAN meta key, or the
SKU = the offer's reference):

1. the offer link stock sync made (no request at all): a link of this connection whose match key
   is the line's key;
2. the line's reference as an SKU, one request for all lines (WooCommerce itself would resolve a
   line's sku the same way); when matching by EAN the product is taken if its EAN is the line's
   or it has none;
3. matching by EAN, the lines still without a product: their EANs searched in the shop's
   catalogue (the shop cannot filter on the EAN; the search stops once all are found); a line
   whose EAN is nowhere keeps the product its reference named in step 2, if any.

A line left without a product is created by sku as before, and the order's timeline says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.store import models
from plugin.sync.ports import MarketplaceLine, ShopPort, ShopProduct


def line_key(line: MarketplaceLine, match_by: str) -> str:
    return str((line.ean if match_by == "ean" else line.sku) or "").strip()


def linked_products(s: Session, connection_id: int, lines: Sequence[MarketplaceLine],
                    match_by: str) -> list[ShopProduct | None]:
    """Step 1: the products the connection's offer links give the lines (listed links first)."""
    keys = {line_key(line, match_by) for line in lines} - {""}
    by_key: dict[str, ShopProduct] = {}
    if keys:
        links = s.scalars(select(models.OfferLink)
                          .where(models.OfferLink.connection_id == connection_id, models.OfferLink.match_key.in_(keys))
                          .order_by(models.OfferLink.listed.desc(), models.OfferLink.id))
        for link in links:
            by_key.setdefault(link.match_key, ShopProduct(id=link.shop_product_id, parent_id=link.parent_id,
                                                          sku=link.sku or "", ean=link.ean or "",
                                                          stock=link.shop_stock))
    return [by_key.get(line_key(line, match_by)) for line in lines]


def find_line_products(shop: ShopPort, lines: Sequence[MarketplaceLine], match_by: str,
                       known: Sequence[ShopProduct | None]) -> list[ShopProduct | None]:
    """Steps 2 and 3 for the lines `known` has no product for. Raises AdapterError."""
    found = list(known)
    todo = [i for i, product in enumerate(found) if product is None]
    skus = tuple(dict.fromkeys(lines[i].sku.strip() for i in todo if lines[i].sku.strip()))
    by_sku: dict[str, ShopProduct] = {}
    if skus:
        for product in shop.find_products(skus=skus):
            by_sku.setdefault(product.sku, product)
    fallback: dict[int, ShopProduct] = {}
    for i in todo:
        product = by_sku.get(lines[i].sku.strip())
        if product is None:
            continue
        if match_by != "ean" or not product.ean or product.ean == lines[i].ean.strip():
            found[i] = product
        else:
            fallback[i] = product     # its EAN is another one: look for the line's EAN first
    if match_by == "ean":
        eans = tuple(dict.fromkeys(lines[i].ean.strip() for i in todo
                                   if found[i] is None and lines[i].ean.strip()))
        by_ean: dict[str, ShopProduct] = {}
        if eans:
            for product in shop.find_products(eans=eans):
                by_ean.setdefault(product.ean, product)
        for i in todo:
            if found[i] is None:
                found[i] = by_ean.get(lines[i].ean.strip()) or fallback.get(i)
    return found


def unlinked_note(line: MarketplaceLine) -> str:
    ref = f"reference {line.sku}, " if line.sku else ""
    return (f"shop: line {line.external_line_id} ({ref}EAN {line.ean or '-'}) has no product in the shop: "
            f"created by name, the shop took no stock off for it")
