"""BolMarketplace: the MarketplacePort for one bol.com seller account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from marshmallow import EXCLUDE, Schema, fields, validate

from adapters.bol import mapping
from adapters.bol.client import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, BolClient
from adapters.errors import Rejected, Transient
from plugin.sync.ports import MarketplaceOrder, OrderSummary, ProcessResult, ShipmentRequest

log = logging.getLogger(__name__)

# shared-v10.json's name for the shipment event (`event-type` enum and ProcessStatus.eventType).
SHIPMENT_EVENT_TYPE = "CREATE_SHIPMENT"

# A runaway-pagination guard: 500 pages of 50 is far more open orders than any seller has.
MAX_ORDER_PAGES = 500
# How many pages of process statuses to scan for an earlier shipment (newest first, 50 a page).
MAX_PROCESS_PAGES = 5


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


class BolMarketplace:
    name = "bol"
    config_schema = BolConfigSchema

    def __init__(self, client: BolClient):
        self.client = client

    def __repr__(self) -> str:
        return f"BolMarketplace({self.client!r})"

    # ------------------------------------------------------------------ orders
    def list_open_orders(self) -> Iterator[OrderSummary]:
        """Open FBR orders, page by page until bol returns an empty page. FBB orders are shipped
        by bol itself and never listed here."""
        for page in range(1, MAX_ORDER_PAGES + 1):
            payload = self.client.get("/retailer/orders",
                                      params={"status": "OPEN", "fulfilment-method": "FBR", "page": page})
            summaries = mapping.order_summaries(payload)
            if not summaries:
                return
            yield from summaries
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
        return mapping.process_result(self.client.get(f"/shared/process-status/{process_id}"))

    def find_shipment_process(self, request: ShipmentRequest) -> ProcessResult | None:
        """bol keys a shipment's process status by its first order item, so ask for that item's
        CREATE_SHIPMENT processes and take the newest one that did not fail."""
        if not request.line_ids:
            return None
        for page in range(1, MAX_PROCESS_PAGES + 1):
            payload = self.client.get("/shared/process-status", params={
                "entity-id": request.line_ids[0], "event-type": SHIPMENT_EVENT_TYPE, "page": page})
            found = mapping.newest_active_process(payload)
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
