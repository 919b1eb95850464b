"""Code lists bol.com publishes, for the settings page's choices (from the Retailer API v10
spec: OrderItemCancellation.reasonCode and ReturnRequest.handlingResult)."""

from __future__ import annotations

CANCEL_REASON_CODES = (
    "OUT_OF_STOCK", "REQUESTED_BY_CUSTOMER", "BAD_CONDITION", "HIGHER_SHIPCOST", "INCORRECT_PRICE",
    "NOT_AVAIL_IN_TIME", "NO_BOL_GUARANTEE", "ORDERED_TWICE", "RETAIN_ITEM", "TECH_ISSUE", "UNFINDABLE_ITEM",
    "OTHER",
)

RETURN_HANDLING_RESULTS = (
    "RETURN_RECEIVED", "EXCHANGE_PRODUCT", "RETURN_DOES_NOT_MEET_CONDITIONS", "REPAIR_PRODUCT",
    "CUSTOMER_KEEPS_PRODUCT_PAID", "STILL_APPROVED",
)
