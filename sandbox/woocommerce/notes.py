"""Order notes as WooCommerce keeps them (WP comments of type `order_note`) and as
WC_REST_Order_Notes_Controller (v3) shows them.

Facts mirrored from WooCommerce:
- WC_Order::add_order_note( $note, $is_customer_note, $added_by_user ): the author is the
  current user's display name only when `added_by_user` is true (and the user may edit shop
  orders), otherwise "WooCommerce". Adding a note does not save the order: no order.updated
  webhook and no new date_modified.
- The v3 controller answers `author` "system" only when comment_author equals the lowercase
  __( 'woocommerce' ); WooCommerce's own notes are written as "WooCommerce", so they show as
  "WooCommerce" (a string comparison in PHP is case-sensitive).
- POST needs `note` (400 rest_missing_callback_param otherwise) and answers 201 with a Location
  header; an unknown order is 404 woocommerce_rest_order_invalid_id. `customer_note` and
  `added_by_user` are booleans (default false). GET lists every note of the order, newest first
  (wc_get_order_notes orders by date_created DESC), without paging; `type` filters
  any | customer | internal.
- Notes WooCommerce writes itself, and the sandbox too: status transitions
  (WC_Order::status_transition: "Order status changed from X to Y."), stock reduced/increased
  by wc_reduce_stock_levels()/wc_increase_stock_levels() ("Stock levels reduced: Name (SKU)
  5&rarr;3"), and "Item #N stock increased from A to B." by wc_restock_refunded_items().
"""

from __future__ import annotations

from .models import Order, OrderNote
from .state import WooState
from .wpjson import wc_date

NOTE_TYPES = ("any", "customer", "internal")
SYSTEM_AUTHOR = "WooCommerce"


def add_order_note(state: WooState, order: Order, content: str, *, customer_note: bool = False,
                   added_by_user: bool = False, user_display_name: str | None = None) -> OrderNote:
    """WC_Order::add_order_note(). The caller holds state.lock."""
    author = user_display_name if (added_by_user and user_display_name) else SYSTEM_AUTHOR
    note = OrderNote(id=state.next_comment_id(), content=content, date_created=state.now(),
                     customer_note=customer_note, author=author)
    order.notes.append(note)
    return note


def notes_of(order: Order, note_type: str = "any") -> list[OrderNote]:
    notes = [n for n in order.notes
             if note_type == "any" or (note_type == "customer") == n.customer_note]
    return sorted(notes, key=lambda n: (n.date_created, n.id), reverse=True)


def note_to_json(state: WooState, order: Order, note: OrderNote) -> dict:
    site = state.site_url
    return {
        "id": note.id,
        "author": "system" if note.author == "woocommerce" else note.author,
        "date_created": wc_date(note.date_created),
        "date_created_gmt": wc_date(note.date_created),
        "note": note.content,
        "customer_note": note.customer_note,
        "_links": {
            "self": [state.self_link(f"{site}/wp-json/wc/v3/orders/{order.id}/notes/{note.id}")],
            "collection": [{"href": f"{site}/wp-json/wc/v3/orders/{order.id}/notes"}],
            "up": [{"href": f"{site}/wp-json/wc/v3/orders/{order.id}"}],
        },
    }
