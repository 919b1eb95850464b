"""The fake's records rendered in the exact JSON shapes of retailer-v10.json / shared-v10.json."""

from __future__ import annotations

from decimal import Decimal

from sandbox.bol.records import Order, OrderItem, Process


def money(value: Decimal) -> float:
    return float(value)


def reduced_order(order: Order, items: list[OrderItem]) -> dict:
    """ReducedOrder: an entry of GET /retailer/orders (only the items that matched the filter)."""
    return {
        "orderId": order.order_id,
        "orderPlacedDateTime": order.placed_at.isoformat(),
        "orderItems": [
            {
                "orderItemId": item.order_item_id,
                "ean": item.ean,
                "fulfilmentMethod": item.fulfilment_method,
                "fulfilmentStatus": item.fulfilment_status,
                "quantity": item.quantity,
                "quantityShipped": item.quantity_shipped,
                "quantityCancelled": item.quantity_cancelled,
                "cancellationRequest": item.cancellation_request,
                "latestChangedDateTime": item.latest_changed.isoformat(),
            }
            for item in items
        ],
    }


def order(order: Order) -> dict:
    """Order: GET /retailer/orders/{order-id}, every item whatever its status."""
    return {
        "orderId": order.order_id,
        "pickupPoint": order.pickup_point,
        "orderPlacedDateTime": order.placed_at.isoformat(),
        "shipmentDetails": dict(order.shipment_details),
        "billingDetails": dict(order.billing_details),
        "orderItems": [order_item(item) for item in order.items],
    }


def order_item(item: OrderItem) -> dict:
    return {
        "orderItemId": item.order_item_id,
        "cancellationRequest": item.cancellation_request,
        "fulfilment": {
            "method": item.fulfilment_method,
            "distributionParty": "RETAILER" if item.fulfilment_method == "FBR" else "BOL",
            "latestDeliveryDate": item.latest_delivery_date.isoformat(),
            "exactDeliveryDate": None,
            "expiryDate": None,
            "timeFrameType": item.time_frame_type,
        },
        "offer": {"offerId": item.offer_id, "reference": item.offer_reference},
        "product": {"ean": item.ean, "title": item.title},
        "quantity": item.quantity,
        "quantityShipped": item.quantity_shipped,
        "quantityCancelled": item.quantity_cancelled,
        "unitPrice": money(item.unit_price),
        "totalPrice": money(item.unit_price * item.quantity),
        "discounts": [],
        "commission": money(item.commission),
        "latestChangedDateTime": item.latest_changed.isoformat(),
    }


def process_status(process: Process, *, base_url: str, iso) -> dict:
    """ProcessStatus (shared-v10.json); `iso` renders the state clock's epoch seconds."""
    body = {
        "processStatusId": process.process_id,
        "entityId": process.entity_id,
        "eventType": process.event_type,
        "description": process.description,
        "status": process.status,
        "createTimestamp": iso(process.created_at),
        "links": [{
            "rel": "self",
            "href": f"{base_url.rstrip('/')}/shared/process-status/{process.process_id}",
            "method": "GET",
        }],
    }
    if process.error_message:
        body["errorMessage"] = process.error_message
    return body
