"""Stock levels: what wc-stock-functions.php and wc_restock_refunded_items() do.

Facts mirrored from WooCommerce (wc-stock-functions.php, wc-order-functions.php, the product
data stores):
- wc_update_product_stock( $product, $qty, 'increase'|'decrease'|'set' ) writes the stock of
  the product that manages it (a variation whose stock is managed by its parent moves the
  parent's stock: get_stock_managed_by_id()) and then calls $product->save(). The data store's
  update() always stamps post_modified and fires woocommerce_update_product (for a variation:
  woocommerce_update_product_variation), which are product.updated hooks. So every stock change
  made by an order -- reduced on payment/processing/on-hold, increased on cancellation, restocked
  by a refund -- delivers a product.updated webhook for the product whose stock moved, and moves
  its date_modified (so a `modified_after` query finds it).
- wc_reduce_stock_levels(): per line item that has no `_reduced_stock` meta yet and whose
  product manages stock: decrease by the item quantity, store `_reduced_stock` = quantity on the
  item, then one order note "Stock levels reduced: Name (SKU) 5&rarr;3, ...".
- wc_increase_stock_levels(): per line item with a `_reduced_stock` meta: increase by that
  amount (not by the item quantity: a refund may already have given part of it back), delete the
  meta, then one note "Stock levels increased: ...".
- wc_maybe_reduce_stock_levels / wc_maybe_increase_stock_levels run on the status hooks
  (processing, completed, on-hold / cancelled, pending) guarded by the order's
  `_order_stock_reduced` flag (see orders._set_status).
- wc_restock_refunded_items( $order, $refunded_line_items ): per refunded line item with a qty,
  a truthy `_reduced_stock` meta and a product that manages stock: increase by the refunded qty,
  lower `_reduced_stock` by it, add it to `_restock_refunded_items`, and add the note
  "Item #ID stock increased from A to B.". A line whose `_reduced_stock` is gone or 0 (already
  given back by a cancellation or an earlier full restock) is not restocked again.
- A managed product's stock_status follows the quantity on save (validate_props()).
"""

from __future__ import annotations

from collections.abc import Mapping

from .models import LineItem, Order, Product, meta_get, meta_update
from .notes import add_order_note
from .state import WooState

REDUCED_STOCK_KEY = "_reduced_stock"
RESTOCKED_KEY = "_restock_refunded_items"


# ---------------------------------------------------------------------------- products
def managing_stock(state: WooState, product: Product) -> bool | str:
    """WC_Product::managing_stock(): True, False, or "parent" for a variation that inherits."""
    if product.manage_stock:
        return True
    if product.type == "variation":
        parent = state.products.get(product.parent_id)
        if parent is not None and parent.manage_stock:
            return "parent"
    return False


def stock_owner(state: WooState, product: Product) -> Product | None:
    """The product whose stock a sale of `product` moves (get_stock_managed_by_id()), or None
    when nothing manages stock."""
    managed = managing_stock(state, product)
    if managed == "parent":
        return state.products.get(product.parent_id)
    return product if managed else None


def view_stock_quantity(state: WooState, product: Product) -> int | None:
    """get_stock_quantity() in view context: a parent-managed variation shows its parent's."""
    owner = stock_owner(state, product)
    if owner is None:
        return product.stock_quantity if product.manage_stock else None
    return owner.stock_quantity


def sync_stock_status(product: Product) -> None:
    """WC_Product::validate_props(): a managed product's stock status follows its quantity."""
    if product.manage_stock and product.stock_quantity is not None:
        product.stock_status = "instock" if product.stock_quantity > 0 else "outofstock"


def save_product(state: WooState, product: Product) -> None:
    """$product->save() on an existing product: post_modified is stamped and
    woocommerce_update_product(_variation) fires -> product.updated."""
    sync_stock_status(product)
    product.date_modified = state.now()
    state.fire("product.updated", product.id)


def update_product_stock(state: WooState, product: Product, quantity: int, operation: str) -> tuple[int, int] | None:
    """wc_update_product_stock(); returns (old, new) of the owner's stock, None if unmanaged."""
    owner = stock_owner(state, product)
    if owner is None:
        return None
    old = owner.stock_quantity or 0
    new = {"increase": old + quantity, "decrease": old - quantity, "set": quantity}[operation]
    owner.stock_quantity = new
    save_product(state, owner)
    return old, new


def formatted_name(product: Product) -> str:
    """WC_Product::get_formatted_name(): "Name (SKU)" or "Name (#ID)"."""
    return f"{product.name} ({product.sku or '#' + str(product.id)})"


# ---------------------------------------------------------------------------- orders
def item_product(state: WooState, item: LineItem) -> Product | None:
    """WC_Order_Item_Product::get_product(): the variation when there is one."""
    return state.products.get(item.variation_id or item.product_id)


def _meta_int(item: LineItem, key: str) -> int:
    value = meta_get(item.meta, key)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _set_item_meta(state: WooState, item: LineItem, key: str, value: int) -> None:
    # Meta values come back from the database as strings.
    meta_update(item.meta, key, str(value), None, state.next_meta_id)


def reduce_order_stock(state: WooState, order: Order) -> None:
    """wc_reduce_stock_levels()."""
    changes = []
    for item in order.line_items:
        product = item_product(state, item)
        if _meta_int(item, REDUCED_STOCK_KEY) or product is None or not managing_stock(state, product):
            continue
        moved = update_product_stock(state, product, item.quantity, "decrease")
        if moved is None:
            continue
        _set_item_meta(state, item, REDUCED_STOCK_KEY, item.quantity)
        changes.append(f"{formatted_name(product)} {moved[0]}&rarr;{moved[1]}")
    if changes:
        add_order_note(state, order, "Stock levels reduced: " + ", ".join(changes))


def increase_order_stock(state: WooState, order: Order) -> None:
    """wc_increase_stock_levels()."""
    changes = []
    for item in order.line_items:
        product = item_product(state, item)
        reduced = _meta_int(item, REDUCED_STOCK_KEY)
        if not reduced or product is None or not managing_stock(state, product):
            continue
        moved = update_product_stock(state, product, reduced, "increase")
        if moved is None:
            continue
        item.meta = [m for m in item.meta if m.key != REDUCED_STOCK_KEY]
        changes.append(f"{formatted_name(product)} {moved[0]}&rarr;{moved[1]}")
    if changes:
        add_order_note(state, order, "Stock levels increased: " + ", ".join(changes))


def restock_refunded_items(state: WooState, order: Order, refunded: Mapping[int, Mapping]) -> None:
    """wc_restock_refunded_items(): `refunded` maps order item id -> {"qty", ...}."""
    for item in order.line_items:
        entry = refunded.get(item.id)
        if not entry or "qty" not in entry:
            continue
        product = item_product(state, item)
        reduced = _meta_int(item, REDUCED_STOCK_KEY)
        qty = _int(entry.get("qty"))
        if not reduced or not qty or product is None or not managing_stock(state, product):
            continue
        moved = update_product_stock(state, product, qty, "increase")
        if moved is None:
            continue
        _set_item_meta(state, item, REDUCED_STOCK_KEY, reduced - qty)
        _set_item_meta(state, item, RESTOCKED_KEY, _meta_int(item, RESTOCKED_KEY) + qty)
        add_order_note(state, order, f"Item #{product.id} stock increased from {moved[0]} to {moved[1]}.")


def _int(value) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0
