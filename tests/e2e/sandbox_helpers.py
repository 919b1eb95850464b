"""Helpers for the stock, cancellation and returns end-to-end tests: products in the sandbox shop,
offers on the sandbox bol, and reading what each side ended up with."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update

from plugin.demo.stack import SELLER
from plugin.inline import InlineQueue
from plugin.store import models


def held(stack):
    """The same context with a queue that keeps its jobs (never drained): a worker that took the
    job and then died, or a test that runs one step by hand."""
    return dataclasses.replace(stack.ctx, queue=InlineQueue())


def set_faults(client, **faults):
    client.put("/_sandbox/faults", json=faults).raise_for_status()


def ean(n: int) -> str:
    return f"87{n:011d}"


def add_products(stack, specs: list[dict]) -> list[dict]:
    """specs: {sku, ean, stock}. Simple products with managed stock."""
    body = [{"name": f"Product {p['sku']}", "sku": p["sku"], "global_unique_id": p["ean"], "regular_price": "10.00",
             "manage_stock": True, "stock_quantity": p.get("stock", 10)} for p in specs]
    response = stack.woo.post("/_sandbox/products", json=body)
    response.raise_for_status()
    return response.json()


def add_offers(stack, specs: list[dict]) -> list[dict]:
    """specs: {ean, reference?, stock?}."""
    response = stack.bol.post("/_sandbox/offers", json={"client_id": SELLER[0], "offers": [
        {"ean": o["ean"], "reference": o.get("reference"), "stock": o.get("stock", 0)} for o in specs]})
    response.raise_for_status()
    return response.json()["offers"]


def set_shop_stock(stack, product_id: int, quantity: int) -> None:
    """The merchant types a new stock quantity in wp-admin (one save, one product.updated)."""
    stack.woo.post(f"/_sandbox/products/{product_id}/stock", json={"stock_quantity": quantity}).raise_for_status()


def shop_stock(stack) -> dict[int, int | None]:
    return {p["id"]: p["stock_quantity"] for p in stack.woo.get("/_sandbox/products").json()}


def offers(stack) -> dict[str, dict]:
    """ean -> the sandbox's view of the offer (stock.amount, updates received)."""
    data = stack.bol.get("/_sandbox/offers", params={"client_id": SELLER[0]}).json()
    return {o["ean"]: o for o in data["offers"]}


def offer_amounts(stack) -> dict[str, int]:
    return {e: o["stock"]["amount"] for e, o in offers(stack).items()}


def stock_patches(stack) -> list[dict]:
    data = stack.bol.get("/_sandbox/offers", params={"client_id": SELLER[0]}).json()
    return data["updates"]


def bol_stats(stack) -> dict:
    return stack.bol.get("/_sandbox/stats").json()


def links(stack) -> dict[int, models.OfferLink]:
    with stack.ctx.db.session() as s:
        return {link.shop_product_id: link for link in s.scalars(select(models.OfferLink))}


def stock_rows(stack) -> list[models.StockUpdate]:
    with stack.ctx.db.session() as s:
        return list(s.scalars(select(models.StockUpdate).order_by(models.StockUpdate.id)))


def set_buffer(stack, buffer: int) -> None:
    with stack.ctx.db.session() as s:
        conn = s.get(models.Connection, stack.connection_id)
        conn.settings = {**(conn.settings or {}), "stock_buffer": buffer}


def set_shop_settings(stack, **changes) -> None:
    with stack.ctx.db.session() as s:
        shop = s.get(models.Shop, stack.shop_id)
        shop.settings = {**(shop.settings or {}), **changes}


def no_reconcile(stack) -> None:
    """Keep the periodic reconcile out of a test that counts calls (due in a day)."""
    from datetime import timedelta
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(stock_reconcile_at=stack.ctx.clock() + timedelta(days=1),
                                                   returns_poll_at=stack.ctx.clock() + timedelta(days=1)))


def order_row(stack, external_id: str) -> models.Order | None:
    with stack.ctx.db.session() as s:
        order = s.scalar(select(models.Order).where(models.Order.external_id == external_id))
        if order is not None:
            list(order.lines)
        return order


def cancellation_rows(stack, order_id: int | None = None) -> list[models.Cancellation]:
    with stack.ctx.db.session() as s:
        stmt = select(models.Cancellation).order_by(models.Cancellation.id)
        if order_id is not None:
            stmt = stmt.where(models.Cancellation.order_id == order_id)
        return list(s.scalars(stmt))


def bol_cancellations(stack) -> list[dict]:
    return stack.bol.get("/_sandbox/cancellations").json()["cancellations"]


def bol_order(stack, external_id: str) -> dict:
    data = stack.bol.get("/_sandbox/orders", params={"client_id": SELLER[0]}).json()
    return next(o for o in data["orders"] if o["orderId"] == external_id)


def request_cancellation(stack, external_id: str, item_ids: list[str] | None = None) -> list[str]:
    body = {} if item_ids is None else {"order_item_ids": item_ids}
    response = stack.bol.post(f"/_sandbox/orders/{external_id}/cancellation-request", json=body)
    response.raise_for_status()
    return response.json()["order_item_ids"]


def seed_from_offers(stack, lines: list[dict]) -> str:
    """One bol order of these offers: lines [{offer_id or ean, quantity}]."""
    response = stack.bol.post("/_sandbox/orders", json={"client_id": SELLER[0], "count": 1, "lines": lines})
    response.raise_for_status()
    return response.json()["order_ids"][0]


def shop_order(stack, shop_order_id: int) -> dict:
    return next(o for o in stack.shop_orders() if o["id"] == shop_order_id)


def return_rows(stack) -> list[models.Return]:
    with stack.ctx.db.session() as s:
        return list(s.scalars(select(models.Return).order_by(models.Return.id)))


def bol_returns(stack) -> dict:
    return stack.bol.get("/_sandbox/returns", params={"client_id": SELLER[0]}).json()
