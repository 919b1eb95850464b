"""Fixed facts of the bol.com Retailer API v10 that the fake reproduces.

Kept in one place so the sandbox and its tests agree on what "real bol" accepts.
"""

from __future__ import annotations

# Every /retailer and /shared call must ask for, and is answered in, this vendor media type ...
VENDOR_JSON = "application/vnd.retailer.v10+json"
# ... except the Offers API v11 (offers-v11.json): /retailer/offers speaks v11. The fake serves only
# v11 there (v10's offer endpoints, the stock PUT included, are deprecated), so a v10 Accept is 406.
VENDOR_JSON_V11 = "application/vnd.retailer.v11+json"


def media_type_for(path: str) -> str:
    """The vendor media type a path is asked for and answered in."""
    return VENDOR_JSON_V11 if path == "/retailer/offers" or path.startswith("/retailer/offers/") else VENDOR_JSON

PROBLEM_TYPE = "https://api.bol.com/problems"

# Page size of every paginated bol list (orders, process statuses).
PAGE_SIZE = 50

# Shipments carry 1..100 order items (ShipmentRequest.orderItems in retailer-v10.json).
MAX_SHIPMENT_ITEMS = 100
MAX_SHIPMENT_REFERENCE = 90

# shared-v10.json names the shipment event CREATE_SHIPMENT (the enum of the `event-type` query
# parameter and the ProcessStatus example). Older bol versions called it CONFIRM_SHIPMENT; that
# value is not in the v10 enum, so the fake rejects it like any other unknown event type.
SHIPMENT_EVENT_TYPE = "CREATE_SHIPMENT"

# Process event types of the other asynchronous writes the fake serves (shared-v10.json enum).
CANCELLATION_EVENT_TYPE = "CANCEL_ORDER"
RETURN_EVENT_TYPE = "HANDLE_RETURN_ITEM"

# The `event-type` enum of GET /shared/process-status (shared-v10.json).
EVENT_TYPES = frozenset({
    "CREATE_SHIPMENT", "CANCEL_ORDER", "CHANGE_TRANSPORT", "HANDLE_RETURN_ITEM",
    "CREATE_RETURN_ITEM", "CREATE_INBOUND", "DELETE_OFFER", "CREATE_OFFER", "UPDATE_OFFER",
    "UPDATE_OFFER_STOCK", "UPDATE_OFFER_PRICE", "CREATE_OFFER_EXPORT", "UNPUBLISHED_OFFER_REPORT",
    "CREATE_PRODUCT_CONTENT", "CREATE_SUBSCRIPTION", "UPDATE_SUBSCRIPTION", "DELETE_SUBSCRIPTION",
    "SEND_SUBSCRIPTION_TST_MSG", "CREATE_SHIPPING_LABEL", "CREATE_REPLENISHMENT",
    "UPDATE_REPLENISHMENT", "REQUEST_PRODUCT_DESTINATIONS", "CREATE_SOV_SEARCH_TERM_REPORT",
    "CREATE_SOV_CATEGORY_REPORT", "UPLOAD_INVOICE", "CREATE_CAMPAIGN_PERFORMANCE_REPORT",
})

# Transporter codes bol accepts in TransportInstruction.transporterCode. bol only checks the code
# when it processes the shipment, so an unknown code is a FAILURE process status, not a 400.
TRANSPORTER_CODES = frozenset({
    "TNT", "TNT-EXTRA", "TNT_BRIEF", "TNT-EXPRESS", "DYL", "DPD-NL", "DPD-BE", "BPOST_BE",
    "BPOST_BRIEF", "DHLFORYOU", "GLS", "FEDEX_NL", "FEDEX_BE", "OTHER", "DHL", "DHL_DE",
    "DHL-GLOBAL-MAIL", "UPS", "KIALA-BE", "KIALA-NL", "TSN", "TRANSMISSION", "PARCEL-NL",
    "LOGOIX", "PACKS", "COURIER", "RJP", "PACKS_SAMEDAY", "DHL_SD", "BUDBEE", "TRUNKRS", "DPD-TR",
})

# PUT /retailer/orders/cancellation: CancellationRequest.orderItems has minItems 1, maxItems 1 ("the
# list can only take one item"), and OrderItemCancellation.reasonCode is this enum (retailer-v10.json).
MAX_CANCELLATION_ITEMS = 1
CANCELLATION_REASONS = (
    "OUT_OF_STOCK", "REQUESTED_BY_CUSTOMER", "BAD_CONDITION", "HIGHER_SHIPCOST", "INCORRECT_PRICE",
    "NOT_AVAIL_IN_TIME", "NO_BOL_GUARANTEE", "ORDERED_TWICE", "RETAIN_ITEM", "TECH_ISSUE",
    "UNFINDABLE_ITEM", "OTHER",
)

# PUT /retailer/returns/{rma-id}: ReturnRequest.handlingResult enum and quantityReturned 1..9999.
# STILL_APPROVED only changes the result of a return that was already handled.
HANDLING_RESULTS = (
    "RETURN_RECEIVED", "EXCHANGE_PRODUCT", "RETURN_DOES_NOT_MEET_CONDITIONS", "REPAIR_PRODUCT",
    "CUSTOMER_KEEPS_PRODUCT_PAID", "STILL_APPROVED",
)
MAX_QUANTITY_RETURNED = 9999
# What bol's processing makes of a handling result (ReturnProcessingResult.processingResult is
# ACCEPTED, REJECTED or CANCELLED; CANCELLED is bol's own, e.g. a failed return label).
REJECTING_RESULTS = frozenset({"RETURN_DOES_NOT_MEET_CONDITIONS"})

# GET /retailer/offers (offers-v11.json): `page-size` 1..100; the spec gives no default and no bound
# on `eans`. The fake pages by 50 unless asked, and refuses more than 50 EANs a call (the bound the
# ports promise callers; bol has not published one).
OFFER_PAGE_SIZE = 50
MAX_OFFER_PAGE_SIZE = 100
MAX_OFFER_EANS = 50

# Endpoint groups that get their own rate-limit bucket per seller; bol publishes limits per
# endpoint (method and path) rather than one global limit, and limits offer updates per seller.
RATE_GROUPS = ("orders", "cancellations", "shipments", "process-status", "offers", "offer-updates",
               "returns", "return-updates", "other")


def rate_group(path: str, method: str = "GET") -> str:
    if path == "/retailer/orders/cancellation":
        return "cancellations"
    if path.startswith("/retailer/orders"):
        return "orders"
    if path.startswith("/retailer/shipments"):
        return "shipments"
    if path.startswith("/shared/process-status"):
        return "process-status"
    if path == "/retailer/offers" or path.startswith("/retailer/offers/"):
        return "offers" if method == "GET" else "offer-updates"
    if path == "/retailer/returns" or path.startswith("/retailer/returns/"):
        return "returns" if method == "GET" else "return-updates"
    return "other"
