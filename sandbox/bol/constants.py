"""Fixed facts of the bol.com Retailer API v10 that the fake reproduces.

Kept in one place so the sandbox and its tests agree on what "real bol" accepts.
"""

from __future__ import annotations

# Every /retailer and /shared call must ask for, and is answered in, this vendor media type.
VENDOR_JSON = "application/vnd.retailer.v10+json"

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

# Endpoint groups that get their own rate-limit bucket per seller; bol publishes limits per
# group of endpoints rather than one global limit.
RATE_GROUPS = ("orders", "shipments", "process-status", "other")


def rate_group(path: str) -> str:
    if path.startswith("/retailer/orders"):
        return "orders"
    if path.startswith("/retailer/shipments"):
        return "shipments"
    if path.startswith("/shared/process-status"):
        return "process-status"
    return "other"
