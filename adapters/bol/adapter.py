"""BolMarketplace: the MarketplacePort for one bol.com seller account."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from marshmallow import EXCLUDE, Schema, fields, validate

from adapters.bol import mapping
from adapters.bol.client import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, VENDOR_JSON_V11, BolClient
from adapters.errors import NotFound, Rejected, Transient
from plugin.sync.ports import (
    CancelItems,
    MarketplaceCapabilities,
    MarketplaceOrder,
    MarketplaceReturn,
    Offer,
    OfferStock,
    OrderSummary,
    ProcessResult,
    ReturnHandling,
    ShipmentRequest,
)

log = logging.getLogger(__name__)

# shared-v10.json's names for the events of the writes we make (`event-type` enum and
# ProcessStatus.eventType); the entity id is the order item id, or the rma id for returns.
SHIPMENT_EVENT_TYPE = "CREATE_SHIPMENT"
CANCELLATION_EVENT_TYPE = "CANCEL_ORDER"
RETURN_EVENT_TYPE = "HANDLE_RETURN_ITEM"

# A runaway-pagination guard: 500 pages of 50 is far more open orders than any seller has.
MAX_ORDER_PAGES = 500
ORDER_PAGE_SIZE = 50     # GET /retailer/orders: "a page size of 50 items" (retailer-v10 spec)
# How many pages of process statuses to scan for an earlier write (newest first, 50 a page).
MAX_PROCESS_PAGES = 5
# Offers (v11): 100 a page (the maximum `page-size`), at most 50 EANs a call (ports.find_offers),
# and a guard of 2,000 pages (200,000 offers).
OFFER_PAGE_SIZE = 100
MAX_EANS_PER_CALL = 50
MAX_OFFER_PAGES = 2000
# Returns: 50 a page; 200 pages of open returns is far more than any seller has.
MAX_RETURN_PAGES = 200
MAX_REMEMBERED_RETURN_LINES = 10_000

# update_stock's answer: v11 applies a PATCH before answering 204, so there is no process to follow.
APPLIED = "SUCCESS"


class BolConfigSchema(Schema):
    """The settings a connection needs; the secret is load-only so dumping never shows it."""

    class Meta:
        unknown = EXCLUDE      # the stored connection config may carry other keys

    client_id = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "label": "Client ID", "help": "bol.com seller dashboard > Settings > API settings > Retailer API credentials"})
    client_secret = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200),
                                  metadata={"label": "Client secret"})


config_schema = BolConfigSchema()

# The transporter codes bol.com accepts in a shipment's transport (its documented list; the API
# only checks a code when it processes the shipment, so a wrong one is a FAILURE later).
TRANSPORTER_CODES = frozenset({
    "TNT", "TNT-EXTRA", "TNT_BRIEF", "TNT-EXPRESS", "DYL", "DPD-NL", "DPD-BE", "BPOST_BE", "BPOST_BRIEF",
    "DHLFORYOU", "GLS", "FEDEX_NL", "FEDEX_BE", "OTHER", "DHL", "DHL_DE", "DHL-GLOBAL-MAIL", "UPS", "KIALA-BE",
    "KIALA-NL", "TSN", "TRANSMISSION", "PARCEL-NL", "LOGOIX", "PACKS", "COURIER", "RJP", "PACKS_SAMEDAY",
    "DHL_SD", "BUDBEE", "TRUNKRS", "DPD-TR",
})


# bol's Retailer API v10: every write answers 202 with a process status to follow; shipments and
# cancellations name order items (a shipment may carry part of an item's quantity); buyers'
# cancellation requests show on the order items; returns are listed and handled per RMA.
CAPABILITIES = MarketplaceCapabilities(follows_processes=True, ships_parts_of_lines=True, cancels_lines=True,
                                       cancellation_requests=True, returns=True)


class BolMarketplace:
    name = "bol"
    config_schema = BolConfigSchema
    capabilities = CAPABILITIES

    def __init__(self, client: BolClient):
        self.client = client
        # (order id, EAN) -> order item id of returned items: an order's item ids never change, so
        # a return seen again (open returns are listed on every poll) costs no second order read.
        self._return_lines: dict[tuple[str, str], str] = {}
        self._return_lines_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BolMarketplace({self.client!r})"

    # ------------------------------------------------------------------ orders
    def list_open_orders(self) -> Iterator[OrderSummary]:
        """Open FBR orders, page by page until a page is not full (bol pages by 50). FBB orders are
        shipped by bol itself and never listed here."""
        for page in range(1, MAX_ORDER_PAGES + 1):
            payload = self.client.get("/retailer/orders",
                                      params={"status": "OPEN", "fulfilment-method": "FBR", "page": page})
            summaries = mapping.order_summaries(payload)
            yield from summaries
            if len(summaries) < ORDER_PAGE_SIZE:   # the last page: asking for the next one costs a call
                return
        log.warning("bol %s: stopped listing open orders after %d pages", self.client.client_id, MAX_ORDER_PAGES)

    def get_order(self, external_id: str) -> MarketplaceOrder:
        return mapping.marketplace_order(self.client.get(f"/retailer/orders/{external_id}"))

    # ------------------------------------------------------------------ shipments
    def ship(self, request: ShipmentRequest) -> ProcessResult:
        """Send the shipment; returns bol's (usually PENDING) process. Raises Transient when the
        outcome is unknown (timeout, 5xx, lost answer): call find_shipment_process before retrying."""
        try:
            body = mapping.shipment_body(request)
        except ValueError as exc:
            raise Rejected(f"bol shipment for order {request.external_order_id}: {exc}") from None
        payload = self.client.post("/retailer/shipments", body)
        if "processStatusId" not in payload:
            # A 2xx without a process id cannot be followed up; treat it like a lost answer.
            raise Transient(f"bol shipment for order {request.external_order_id}: answer without process status")
        return mapping.process_result(payload)

    def process_status(self, process_id: str) -> ProcessResult:
        """One bol process, or several followed as one (a multi-line cancellation's id joins its
        lines' process ids; see mapping.combined_process)."""
        ids = mapping.split_process_id(process_id)
        if not ids:
            raise NotFound(f"bol process status {process_id!r}: no process id")
        return mapping.combined_process([
            mapping.process_result(self.client.get(f"/shared/process-status/{pid}")) for pid in ids])

    def find_shipment_process(self, request: ShipmentRequest) -> ProcessResult | None:
        """bol keys a shipment's process status by its first order item, so ask for that item's
        CREATE_SHIPMENT processes and take the newest one that did not fail and is not one of the
        order's other shipments (a line shipped in parts has one process per part)."""
        if not request.line_ids:
            return None
        return self._newest_active_process(request.line_ids[0], SHIPMENT_EVENT_TYPE,
                                           exclude=tuple(request.other_processes))

    def _newest_active_process(self, entity_id: str, event_type: str,
                               exclude: tuple[str, ...] = ()) -> ProcessResult | None:
        """The newest process of this entity and event type that did not fail, or None."""
        for page in range(1, MAX_PROCESS_PAGES + 1):
            payload = self.client.get("/shared/process-status", params={
                "entity-id": entity_id, "event-type": event_type, "page": page})
            found = mapping.newest_active_process(payload, exclude)
            if found is not None:
                return found
            if len(payload.get("processStatuses") or []) < 50:   # last page
                return None
        return None

    def wait_for_process(self, process_id: str, *, timeout: float = 60.0, interval: float = 1.0,
                         sleep: Callable[[float], None] = time.sleep) -> ProcessResult:
        """Poll until the process is done or `timeout` passes (then the last PENDING result).
        For CLI and tests; the sync layer polls from jobs instead of blocking a worker."""
        deadline = time.monotonic() + timeout
        result = self.process_status(process_id)
        while not result.done and time.monotonic() < deadline:
            sleep(interval)
            result = self.process_status(process_id)
        return result

    # ------------------------------------------------------------------ stock (Offers API v11)
    def find_offers(self, *, eans: tuple[str, ...] = (), reference: str | None = None) -> list[Offer]:
        """The seller's offers of these EANs (asked 50 at a time), or of this reference; both
        together means both must match. Nothing asked, nothing found (no accidental full list)."""
        eans = tuple(dict.fromkeys(e for e in eans if e))
        if not eans and not reference:
            return []
        base = {"reference": reference} if reference else {}
        chunks = [eans[n:n + MAX_EANS_PER_CALL] for n in range(0, len(eans), MAX_EANS_PER_CALL)] or [()]
        found: list[Offer] = []
        for chunk in chunks:
            params = {**base, "eans": list(chunk)} if chunk else dict(base)
            found.extend(self._offer_pages(params))
        return found

    def list_offers(self) -> Iterator[Offer]:
        """Every offer of the seller, following bol's cursor page by page."""
        yield from self._offer_pages({})

    def _offer_pages(self, params: dict) -> Iterator[Offer]:
        cursor: str | None = None
        for _ in range(MAX_OFFER_PAGES):
            query = {**params, "page-size": OFFER_PAGE_SIZE}
            if cursor:
                query["cursor"] = cursor
            offers, cursor = mapping.offers_page(self.client.get("/retailer/offers", params=query,
                                                                 media_type=VENDOR_JSON_V11))
            yield from offers
            if not cursor or not offers:
                return
        log.warning("bol %s: stopped listing offers after %d pages", self.client.client_id, MAX_OFFER_PAGES)

    def get_offer(self, offer_id: str) -> Offer:
        """One offer by id (NotFound when it is gone)."""
        return mapping.offer(self.client.get(f"/retailer/offers/{offer_id}", media_type=VENDOR_JSON_V11))

    def update_stock(self, update: OfferStock) -> ProcessResult:
        """PATCH the offer's stock (amount and managedByRetailer only). v11 applies it before it
        answers 204, so the result is done at once: SUCCESS with no process id. Idempotent: after
        a Transient (5xx, timeout, lost answer) send the same update again. One attempt here, never
        retried in the adapter: RateLimited(retry_after) on 429 and Transient on 5xx go to the
        caller, who coalesces and schedules; NotFound when the offer is gone; Rejected on 400."""
        try:
            body = mapping.stock_body(update)
        except ValueError as exc:
            raise Rejected(f"bol stock for offer {update.offer_id}: {exc}") from None
        payload = self.client.patch(f"/retailer/offers/{update.offer_id}", body, media_type=VENDOR_JSON_V11)
        if "processStatusId" in payload:      # should bol ever answer asynchronously again
            return mapping.process_result(payload)
        return ProcessResult(process_id="", status=APPLIED)

    # ------------------------------------------------------------------ cancellations
    def cancel_items(self, request: CancelItems) -> ProcessResult:
        """Cancel whole order lines with the request's reason code. bol takes one order item a
        call, so each line is its own PUT and process; the result follows them all as one (its id
        joins theirs). A line that already has a cancellation that did not fail (an earlier,
        unanswered attempt, or a cancellation done before) is not sent again: its process is
        reused. So a retry never cancels twice, even when an earlier attempt got halfway.
        Rejected for a request bol would refuse (before anything is sent); Transient when an
        outcome is unknown (then find_cancellation_process, or simply cancel_items again)."""
        try:
            bodies = mapping.cancellation_bodies(request)
        except ValueError as exc:
            raise Rejected(f"bol cancellation for order {request.external_order_id}: {exc}") from None
        results = []
        for line_id, body in zip(request.line_ids, bodies, strict=True):
            earlier = self._newest_active_process(line_id, CANCELLATION_EVENT_TYPE)
            if earlier is not None:
                results.append(earlier)
                continue
            payload = self.client.put("/retailer/orders/cancellation", body)
            if "processStatusId" not in payload:
                raise Transient(f"bol cancellation of order item {line_id}: answer without process status")
            results.append(mapping.process_result(payload))
        return mapping.combined_process(results)

    def find_cancellation_process(self, request: CancelItems) -> ProcessResult | None:
        """The cancellation an earlier cancel_items started, when every line has one that did not
        fail (newest first, as find_shipment_process); None otherwise (then cancel_items again
        sends only the lines that have none)."""
        if not request.line_ids:
            return None
        results = []
        for line_id in request.line_ids:
            found = self._newest_active_process(line_id, CANCELLATION_EVENT_TYPE)
            if found is None:
                return None
            results.append(found)
        return mapping.combined_process(results)

    # ------------------------------------------------------------------ returns
    def list_returns(self, *, handled: bool) -> Iterator[MarketplaceReturn]:
        """Returns of retailer-fulfilled orders, open or handled, page by page. bol's return items
        name the order and the EAN but not the order item: a returned item's order is read once
        (GET /retailer/orders/{id}, remembered by this adapter) to find the line; line_id is ""
        when it cannot be found. Reads are retried (429 after Retry-After); what still fails
        raises (RateLimited, Transient, AuthError)."""
        for page in range(1, MAX_RETURN_PAGES + 1):
            payload = self.client.get("/retailer/returns", params={
                "handled": "true" if handled else "false", "fulfilment-method": "FBR", "page": page})
            if not payload.get("returns"):
                return
            self._resolve_return_lines(mapping.return_keys(payload))
            with self._return_lines_lock:
                lines = dict(self._return_lines)
            yield from mapping.marketplace_returns(payload, lines)
        log.warning("bol %s: stopped listing returns after %d pages", self.client.client_id, MAX_RETURN_PAGES)

    def _resolve_return_lines(self, keys: list[tuple[str, str]]) -> None:
        unknown = [key for key in keys if key[0] and key not in self._return_lines]
        for order_id in dict.fromkeys(order_id for order_id, _ in unknown):
            try:
                order = self.client.get(f"/retailer/orders/{order_id}")
            except NotFound:
                log.warning("bol %s: order %s of a return not found", self.client.client_id, order_id)
                continue
            with self._return_lines_lock:
                for key in unknown:
                    line_id = mapping.line_id_for(order, key[1]) if key[0] == order_id else ""
                    if line_id:
                        self._return_lines[key] = line_id
                while len(self._return_lines) > MAX_REMEMBERED_RETURN_LINES:     # oldest first
                    del self._return_lines[next(iter(self._return_lines))]

    def handle_return(self, handling: ReturnHandling) -> ProcessResult:
        """Handle one return item (by rma id) with a handling result and the quantity that came
        back; returns bol's (usually PENDING) process. Rejected for what bol would refuse (before
        sending); Transient when the outcome is unknown: then find_return_process. Handling the
        same item again with the same values changes nothing on bol, so a resend is harmless."""
        try:
            body = mapping.return_handling_body(handling)
        except ValueError as exc:
            raise Rejected(f"bol return {handling.rma_id}: {exc}") from None
        payload = self.client.put(f"/retailer/returns/{handling.rma_id}", body)
        if "processStatusId" not in payload:
            raise Transient(f"bol return {handling.rma_id}: answer without process status")
        return mapping.process_result(payload)

    def find_return_process(self, handling: ReturnHandling) -> ProcessResult | None:
        """After an unknown outcome: the newest HANDLE_RETURN_ITEM process of this rma id that did
        not fail (bol keys these processes by rma id)."""
        return self._newest_active_process(str(handling.rma_id), RETURN_EVENT_TYPE)

    # ------------------------------------------------------------------ health
    def check(self) -> None:
        """A fresh token plus one small authenticated read: bad credentials or a token without
        retailer rights raise AuthError."""
        self.client.fetch_token()
        self.client.get("/retailer/orders", params={"status": "OPEN", "fulfilment-method": "FBR", "page": 1})

    def close(self) -> None:
        self.client.close()


def from_config(config: dict, base_url: str = DEFAULT_BASE_URL, token_url: str | None = DEFAULT_TOKEN_URL,
                **client_options) -> BolMarketplace:
    """Build the adapter from a stored connection config (validated by BolConfigSchema; raises
    marshmallow.ValidationError). `client_options` go to BolClient (timeout, transport, ...).
    With a non-production base_url and token_url=None the token URL is base_url + /token."""
    data = config_schema.load(config)
    if token_url == DEFAULT_TOKEN_URL and base_url.rstrip("/") != DEFAULT_BASE_URL:
        token_url = None      # pointing at a sandbox: never send its credentials to login.bol.com
    client = BolClient(data["client_id"], data["client_secret"], base_url=base_url, token_url=token_url,
                       **client_options)
    return BolMarketplace(client)
