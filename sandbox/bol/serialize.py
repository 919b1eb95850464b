"""The fake's records rendered in the exact JSON shapes of retailer-v10.json / shared-v10.json /
offers-v11.json."""

from __future__ import annotations

from decimal import Decimal

from sandbox.bol.records import Offer, Order, OrderItem, Process, Return, ReturnItem


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


# ------------------------------------------------------------------ offers (offers-v11.json)
def offer(offer: Offer, *, corrected_stock: int) -> dict:
    """OfferResponse: GET /retailer/offers/{offer-id} and the entries of GET /retailer/offers."""
    body = {
        "offerId": offer.offer_id,
        "ean": offer.ean,
        "lastModifiedDateTime": offer.last_modified.isoformat(),
        "onHoldByRetailer": offer.on_hold,
        "stock": {
            "amount": offer.stock_amount,
            "correctedStock": corrected_stock,
            "managedByRetailer": offer.managed_by_retailer,
        },
        "countryAvailabilities": [{"countryCode": "NL", "forSale": not offer.on_hold and corrected_stock > 0}],
        "condition": {"category": "NEW"},
        "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": money(offer.unit_price)}]},
        "fulfilment": {"method": offer.fulfilment_method},
    }
    if offer.reference is not None:        # a string in the spec, not nullable: left out when unset
        body["reference"] = offer.reference
    if offer.fulfilment_method == "FBR":
        body["fulfilment"].update({
            "schedule": "MY_DELIVERY_PROMISE",
            "deliveryPromise": {"minimumDaysToCustomer": 1, "maximumDaysToCustomer": 2, "ultimateOrderTime": "22:00"},
        })
    return body


# ------------------------------------------------------------------ returns (retailer-v10.json)
def _return_reason(item: ReturnItem) -> dict:
    return {"mainReason": item.main_reason, "detailedReason": item.detailed_reason,
            "customerComments": item.customer_comments}


def reduced_return(record: Return, items: list[ReturnItem]) -> dict:
    """ReducedReturn: an entry of GET /retailer/returns (only the items that matched the filter)."""
    return {
        "returnId": record.return_id,
        "registrationDateTime": record.registered_at.isoformat(),
        "fulfilmentMethod": record.fulfilment_method,
        "returnItems": [
            {
                "rmaId": item.rma_id,
                "orderId": item.order_id,
                "ean": item.ean,
                "expectedQuantity": item.expected_quantity,
                "returnReason": _return_reason(item),
                "handled": item.handled,
                "processingResults": [dict(r) for r in item.processing_results],
            }
            for item in items
        ],
    }


def full_return(record: Return) -> dict:
    """Return: GET /retailer/returns/{return-id}, every item."""
    return {
        "returnId": record.return_id,
        "registrationDateTime": record.registered_at.isoformat(),
        "fulfilmentMethod": record.fulfilment_method,
        "returnItems": [
            {
                "rmaId": item.rma_id,
                "orderId": item.order_id,
                "ean": item.ean,
                "title": item.title,
                "expectedQuantity": item.expected_quantity,
                "returnReason": _return_reason(item),
                "trackAndTrace": item.track_and_trace,
                "transporterName": item.transporter_name,
                "handled": item.handled,
                "processingResults": [dict(r) for r in item.processing_results],
                "customerDetails": dict(item.customer_details),
            }
            for item in record.items
        ],
    }
