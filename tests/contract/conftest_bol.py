"""Shared fixtures for the bol contract tests: the sandbox on a real socket, the real adapter
pointed at it, a transport that records every exchange, and OpenAPI validation of that traffic.

Not a conftest.py on purpose (tests/conftest.py belongs to the app's own fixtures); test modules
import what they need from here.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.deserializing.media_types.util import json_loads
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

from adapters.bol import VENDOR_JSON, VENDOR_JSON_V11, BolMarketplace, from_config
from sandbox.bol import BolState
from sandbox.bol.records import Offer, Order, Return
from sandbox.bol.server import base_url, serve, stop

SELLER_ID, SELLER_SECRET = "seller-1", "s3cr3t-seller-one"
OTHER_ID, OTHER_SECRET = "seller-2", "s3cr3t-seller-two"

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ the sandbox
@dataclass
class Sandbox:
    state: BolState
    url: str

    def add_orders(self, count: int, client_id: str = SELLER_ID, **kwargs) -> list[Order]:
        return self.state.add_random_orders(client_id, count, **kwargs)

    def add_offers(self, *specs: dict, client_id: str = SELLER_ID) -> list[Offer]:
        """Offers from {ean, reference?, stock?, managed_by_retailer?, title?} specs."""
        return [self.state.add_offer(client_id, spec["ean"], reference=spec.get("reference"), title=spec.get("title"),
                                     stock=spec.get("stock", 0), managed_by_retailer=spec.get("managed_by_retailer", True))
                for spec in specs]

    def order_of(self, *lines: tuple[Offer, int], client_id: str = SELLER_ID) -> Order:
        """One order, placed now, of these (offer, quantity) lines."""
        [order] = self.state.add_random_orders(client_id, 1, lines=[
            {"offer_id": offer.offer_id, "quantity": quantity} for offer, quantity in lines])
        return order

    def ship_now(self, order: Order) -> None:
        """Mark every item shipped, as if the seller had shipped it (no API call)."""
        with self.state.lock:
            for item in order.items:
                item.quantity_shipped = item.quantity - item.quantity_cancelled

    def add_return(self, *items: tuple[str, int], client_id: str = SELLER_ID, **reason) -> Return:
        """A buyer's return of (order item id, quantity) pairs."""
        return self.state.register_return(client_id, [{"order_item_id": i, "quantity": q, **reason} for i, q in items])

    def stock_updates(self, offer_id: str) -> list:
        with self.state.lock:
            return [u for u in self.state.stock_updates_received if u.offer_id == offer_id]

    def cancellations_for(self, item_id: str) -> list[dict]:
        return [c for c in self.state.cancellation_log() if c["order_item_id"] == item_id]

    def handlings_for(self, rma_id: str) -> list[dict]:
        return [h for h in self.state.return_handling_log() if h["rma_id"] == rma_id]

    def shipments_for(self, order_id: str) -> list[dict]:
        return [s for s in self.state.shipment_log() if s["order_id"] == order_id]

    def requests(self, key: str) -> int:
        with self.state.lock:
            return self.state.stats.requests[key]


@pytest.fixture
def bol_sandbox() -> Iterator[Sandbox]:
    # A short process delay keeps PENDING observable while keeping the suite fast.
    state = BolState(seed=20240501, process_delay=0.05)
    state.add_seller(SELLER_ID, SELLER_SECRET)
    state.add_seller(OTHER_ID, OTHER_SECRET)
    server, thread = serve("127.0.0.1", 0, state)
    try:
        yield Sandbox(state, base_url(server))
    finally:
        stop(server, thread)


# ------------------------------------------------------------------ recording transport
@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response


class RecordingTransport(httpx.BaseTransport):
    """Wraps the real HTTP transport and keeps every request/response pair (bodies read), so
    tests can check what the adapter really put on the wire."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append(Exchange(request, response))
        return response

    def close(self) -> None:
        pass  # shared by several clients in a test; the fixture closes the real transport

    def api_exchanges(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.request.url.path != "/token"]


@pytest.fixture
def recorder() -> Iterator[RecordingTransport]:
    transport = RecordingTransport()
    yield transport
    transport.inner.close()


# ------------------------------------------------------------------ the adapter under test
@pytest.fixture
def make_bol(bol_sandbox: Sandbox, recorder: RecordingTransport):
    """Factory: the real BolMarketplace against the sandbox (options go to BolClient)."""
    created: list[BolMarketplace] = []

    def factory(client_id: str = SELLER_ID, client_secret: str = SELLER_SECRET, **options) -> BolMarketplace:
        options.setdefault("transport", recorder)
        options.setdefault("timeout", 5.0)
        options.setdefault("retry_base", 0.01)      # keep jittered backoff short in tests
        marketplace = from_config({"client_id": client_id, "client_secret": client_secret},
                                  base_url=bol_sandbox.url, token_url=f"{bol_sandbox.url}/token", **options)
        created.append(marketplace)
        return marketplace

    yield factory
    for marketplace in created:
        marketplace.close()


@pytest.fixture
def bol(make_bol) -> BolMarketplace:
    return make_bol()


# ------------------------------------------------------------------ OpenAPI validation
def find_spec_dir() -> Path | None:
    candidates = [os.environ.get("ORDERBRIDGE_SPECS_DIR"), REPO / "specs", REPO.parent / "shared" / "specs"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bol" / "retailer-v10.json").is_file():
            return Path(candidate) / "bol"
    return None


@dataclass
class BolSpec:
    """retailer-v10.json, shared-v10.json and offers-v11.json, ready to validate recorded httpx
    traffic (each path against the spec that owns it: /retailer/offers is v11)."""
    retailer: OpenAPI
    shared: OpenAPI
    offers: OpenAPI
    documents: dict = field(default_factory=dict)

    def api_for(self, path: str) -> OpenAPI:
        if path.startswith("/shared/"):
            return self.shared
        if path == "/retailer/offers" or path.startswith("/retailer/offers/"):
            return self.offers
        return self.retailer

    @staticmethod
    def _request(request: httpx.Request) -> MockRequest:
        # The specs have no `servers`, so paths match relative to the host we talked to.
        url = request.url
        return MockRequest(
            f"{url.scheme}://{url.host}:{url.port}", request.method, url.path,
            args=list(url.params.multi_items()), headers=dict(request.headers),
            data=request.content, content_type=request.headers.get("content-type", ""))

    @staticmethod
    def _response(response: httpx.Response) -> MockResponse:
        return MockResponse(response.content, response.status_code, dict(response.headers),
                            content_type=response.headers.get("content-type", ""))

    def validate_request(self, request: httpx.Request) -> None:
        self.api_for(request.url.path).validate_request(self._request(request))

    def validate_response(self, request: httpx.Request, response: httpx.Response) -> None:
        self.api_for(request.url.path).validate_response(self._request(request), self._response(response))

    def validate_component(self, document: str, name: str, instance: object) -> None:
        """For answers the spec does not list per operation (401, 406, 429, 5xx): the body must
        still be the component schema (Problem)."""
        root = self.documents[document]
        OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": root["components"]}).validate(instance)


def repaired_offers_spec(offers: dict, retailer: dict) -> dict:
    """offers-v11.json as published cannot be used as is; a copy is repaired in memory (the file
    stays unchanged), each repair the smallest that makes the document say what it means:

    - its error responses are `$ref`s into `../common/responses.yaml`, a file bol does not publish
      with the spec: they become the Problem response every other bol spec uses (retailer-v10's
      Problem and Violation schemas, in the v11 media type);
    - the `for-sale` query parameter is a non-nullable boolean with `default: null`, which a
      validator applies to every request that leaves it out and then refuses: the default goes;
    - 204 answers declare a body (`content: {media type: []}`), which a 204 cannot have (RFC 9110
      15.3.5): the content goes.
    """
    doc = copy.deepcopy(offers)
    schemas = doc["components"]["schemas"]
    schemas.setdefault("Problem", copy.deepcopy(retailer["components"]["schemas"]["Problem"]))
    schemas.setdefault("Violation", copy.deepcopy(retailer["components"]["schemas"]["Violation"]))

    def inline_external_refs(node: object) -> None:
        if isinstance(node, dict):
            for key, value in list(node.items()):
                ref = value.get("$ref") if isinstance(value, dict) else None
                if isinstance(ref, str) and not ref.startswith("#"):
                    node[key] = {"description": ref.rsplit("/", 1)[-1], "content": {
                        VENDOR_JSON_V11: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                else:
                    inline_external_refs(value)
        elif isinstance(node, list):
            for value in node:
                inline_external_refs(value)

    inline_external_refs(doc["paths"])
    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if "default" in schema and schema["default"] is None and not schema.get("nullable"):
                    del schema["default"]
            no_content = operation.get("responses", {}).get("204")
            if isinstance(no_content, dict):
                no_content.pop("content", None)
    return doc


@pytest.fixture(scope="session")
def bol_spec() -> BolSpec:
    spec_dir = find_spec_dir()
    if spec_dir is None:
        if os.environ.get("CI"):   # CI always has shared/ beside the clone: missing specs is a failure
            pytest.fail("bol OpenAPI specs not found (set ORDERBRIDGE_SPECS_DIR to the specs/ folder)")
        pytest.skip("bol OpenAPI specs not found (set ORDERBRIDGE_SPECS_DIR to the specs/ folder)")
    # bol's published securityScheme has `in: header` next to `type: http`, which the OpenAPI
    # 3.0 meta-schema refuses; skip the spec's own validation (the files must stay unchanged)
    # and let the vendor media type be parsed as JSON.
    config = Config(spec_validator_cls=None, extra_media_type_deserializers={
        VENDOR_JSON: json_loads, VENDOR_JSON_V11: json_loads})
    documents = {name: json.loads((spec_dir / f"{name}-v10.json").read_text()) for name in ("retailer", "shared")}
    documents["offers"] = repaired_offers_spec(json.loads((spec_dir / "offers-v11.json").read_text()),
                                               documents["retailer"])
    return BolSpec(
        retailer=OpenAPI.from_dict(documents["retailer"], config=config),
        shared=OpenAPI.from_dict(documents["shared"], config=config),
        offers=OpenAPI.from_dict(documents["offers"], config=config),
        documents=documents,
    )
