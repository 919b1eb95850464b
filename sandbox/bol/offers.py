"""The Offers API v11 (offers-v11.json): GET /retailer/offers, GET and PATCH
/retailer/offers/{offer-id}, in application/vnd.retailer.v11+json.

v11 processes offer data synchronously (bol: "you do not need to implement the process status
mechanism anymore"): a PATCH is applied before it is answered, with 204 and no body. Stock is
`amount` (what the retailer says it has) plus bol's `correctedStock`: the amount minus open
orders, all of them when managedByRetailer is false, only those placed after the last offer
update when it is true (BolState.corrected_stock).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from decimal import Decimal

from flask import Blueprint, current_app, g, request

from sandbox.bol import serialize
from sandbox.bol.constants import MAX_OFFER_EANS, MAX_OFFER_PAGE_SIZE, OFFER_PAGE_SIZE
from sandbox.bol.records import StockUpdateReceived
from sandbox.bol.responses import BodyError, json_body, no_content, problem, vendor_json, violation

bp = Blueprint("bol_offers", __name__)

INT32_MAX = 2**31 - 1


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset a cursor stands for; ValueError for anything the fake did not hand out."""
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValueError(cursor) from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(cursor)
    return offset


def _render(state, offer) -> dict:
    return serialize.offer(offer, corrected_stock=state.corrected_stock(offer))


@bp.get("/retailer/offers")
def list_offers():
    """Offers of the seller, filtered (all filters combine), `page-size` at a time, oldest first;
    `page.nextCursor` is the cursor of the next page, null on the last one."""
    state = current_app.config["BOL_STATE"]
    violations: list[dict] = []
    offer_ids = request.args.getlist("offer-ids")
    eans = request.args.getlist("eans")
    reference = request.args.get("reference")
    if any(not _is_uuid(i) for i in offer_ids):
        violations.append(violation("offer-ids", "must be a list of UUIDs"))
    if len(eans) > MAX_OFFER_EANS:
        violations.append(violation("eans", f"size must be between 0 and {MAX_OFFER_EANS}"))
    for_sale = request.args.get("for-sale")
    if for_sale is not None and for_sale not in ("true", "false"):
        violations.append(violation("for-sale", f"Request contains invalid value(s): '{for_sale}'."))
    since = request.args.get("last-modified-date-time")
    since_dt = None
    if since is not None:
        try:
            since_dt = datetime.fromisoformat(since.replace("Z", "+00:00"))
            if since_dt.tzinfo is None:
                raise ValueError(since)
        except ValueError:
            violations.append(violation("last-modified-date-time", "must be an ISO 8601 date-time with offset"))
    raw_size = request.args.get("page-size")
    page_size = OFFER_PAGE_SIZE
    if raw_size is not None:
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_OFFER_PAGE_SIZE:
            violations.append(violation("page-size", f"must be between 1 and {MAX_OFFER_PAGE_SIZE}"))
        else:
            page_size = int(raw_size)
    offset = 0
    cursor = request.args.get("cursor")
    if cursor:
        try:
            offset = decode_cursor(cursor)
        except ValueError:
            violations.append(violation("cursor", "is not a cursor this API handed out"))
    if violations:
        return problem(400, "Bad request", violations)

    with state.lock:
        candidates = [o for o in state.offers_of(g.seller)
                      if (not offer_ids or o.offer_id in offer_ids) and (not eans or o.ean in eans)
                      and (reference is None or o.reference == reference)
                      and (since_dt is None or o.last_modified >= since_dt)]
        stocks = state.corrected_stocks(candidates)
        found = [serialize.offer(o, corrected_stock=stocks[o.offer_id]) for o in candidates]
    if for_sale is not None:
        found = [o for o in found if o["countryAvailabilities"][0]["forSale"] == (for_sale == "true")]
    page = found[offset:offset + page_size]
    more = offset + page_size < len(found)
    return vendor_json({"offers": page, "page": {
        "pageSize": page_size,
        "nextCursor": encode_cursor(offset + page_size) if more else None,
    }})


@bp.get("/retailer/offers/<offer_id>")
def get_offer(offer_id: str):
    state = current_app.config["BOL_STATE"]
    if not _is_uuid(offer_id):
        return problem(400, "Bad request", [violation("offer-id", "must be a UUID")])
    with state.lock:
        offer = state.get_offer(g.seller, offer_id)
        if offer is None:
            return problem(404, f"Offer with id {offer_id} not found.")
        return vendor_json(_render(state, offer))


def validate_patch(body: object) -> list[dict]:
    """Violations of PatchOfferRequest (offers-v11.json); empty when acceptable."""
    if not isinstance(body, dict):
        return [violation("body", "must be a JSON object")]
    found = []
    stock = body.get("stock")
    if stock is not None:
        if not isinstance(stock, dict):
            found.append(violation("stock", "must be an object"))
        else:
            amount = stock.get("amount")
            if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)
                                       or not 0 <= amount <= INT32_MAX):
                found.append(violation("stock.amount", "must be an integer greater than or equal to 0"))
            managed = stock.get("managedByRetailer")
            if managed is not None and not isinstance(managed, bool):
                found.append(violation("stock.managedByRetailer", "must be a boolean"))
    reference = body.get("reference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 100):
        found.append(violation("reference", "size must be between 0 and 100"))
    on_hold = body.get("onHoldByRetailer")
    if on_hold is not None and not isinstance(on_hold, bool):
        found.append(violation("onHoldByRetailer", "must be a boolean"))
    title = body.get("unknownProductTitle")
    if title is not None and (not isinstance(title, str) or len(title) > 500):
        found.append(violation("unknownProductTitle", "size must be between 0 and 500"))
    pricing = body.get("pricing")
    if pricing is not None:
        prices = pricing.get("bundlePrices") if isinstance(pricing, dict) else None
        if not isinstance(prices, list) or not prices or not all(
                isinstance(p, dict) and isinstance(p.get("quantity"), int)
                and isinstance(p.get("unitPrice"), int | float) and 1 <= p["unitPrice"] <= 9999 for p in prices):
            found.append(violation("pricing.bundlePrices", "must hold {quantity, unitPrice (1..9999)} entries"))
    fulfilment = body.get("fulfilment")
    if fulfilment is not None and (not isinstance(fulfilment, dict) or fulfilment.get("method") not in ("FBR", "FBB")):
        found.append(violation("fulfilment.method", "Request contains invalid value(s), allowed values: FBR, FBB."))
    return found


@bp.patch("/retailer/offers/<offer_id>")
def patch_offer(offer_id: str):
    state = current_app.config["BOL_STATE"]
    received_at = g.received_at

    def record(body: object, status: int, applied: bool = False) -> None:
        state.record_stock_update(StockUpdateReceived(g.seller, offer_id, body, received_at, status, applied))

    try:
        body = json_body()
    except BodyError as refused:
        record(refused.raw, refused.response.status_code)
        return refused.response
    violations = validate_patch(body)
    if not _is_uuid(offer_id):
        violations.insert(0, violation("offer-id", "must be a UUID"))
    if violations:
        record(body, 400)
        return problem(400, "Bad request", violations)

    with state.lock:
        offer = state.get_offer(g.seller, offer_id)
        if offer is None:
            record(body, 404)
            return problem(404, f"Offer with id {offer_id} not found.")
        now = state.now()
        stock = body.get("stock") or {}
        if "amount" in stock and stock["amount"] is not None:
            offer.stock_amount = stock["amount"]
        if stock.get("managedByRetailer") is not None:
            offer.managed_by_retailer = stock["managedByRetailer"]
        if body.get("reference") is not None:
            offer.reference = body["reference"]
        if body.get("onHoldByRetailer") is not None:
            offer.on_hold = body["onHoldByRetailer"]
        if body.get("pricing"):
            offer.unit_price = Decimal(str(body["pricing"]["bundlePrices"][0]["unitPrice"]))
        if body.get("fulfilment"):
            offer.fulfilment_method = body["fulfilment"]["method"]
        # Any update of the offer is "the last offer update" correctedStock counts orders after.
        offer.stock_updated_at = offer.last_modified = now
        lost = state.faults.offer_fail_after_commit_next > 0
        if lost:
            state.faults.offer_fail_after_commit_next -= 1
            state.stats.lost_answers += 1
        record(body, 500 if lost else 204, applied=True)
    if lost:
        return problem(500, "Internal server error.")      # applied all the same; only the answer is lost
    return no_content()
