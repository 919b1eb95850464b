"""The WooCommerce sandbox's REST answers, and what our adapter sends it, against what real
WooCommerce 7.8.2 and 9.9.5 shops say about their REST API (shared/specs/woocommerce/wc-v3-*.json:
each route's args and JSON schema), per version played.

The real adapter runs every kind of call it makes (orders, lines, notes, refunds, products,
variations, webhooks) against the sandbox playing one version; every exchange is recorded on the
sandbox side and checked:
- the request: each query and body argument exists on that route in that version, with the
  declared type and enum (WordPress silently drops an argument a route does not declare, so
  sending one the shop does not know is a defect);
- the answer: JSON types, enums and properties per the route's schema; a property the real shop
  does not have is a defect, so is one it always has that the sandbox leaves out (the set of an
  order's and a product's properties is the captured delivery body's, the others the schema's
  less its write-only fields).

What is allowed, and why (the schemas are WordPress' own and not always what the code serves):
- null for any property: WooCommerce serves null for unset values whatever the declared type
  (stock_quantity of an unmanaged product, date_completed, low_stock_amount, a variation image);
- `_links`, an order's `currency_symbol`, a variation's `name`/`parent_id`: served outside the
  schema (woocommerce_captures.OUTSIDE_SCHEMA);
- a variation's `manage_stock` "parent" (managing_stock() when the parent keeps the stock) and
  its integer `shipping_class_id` (declared string, served as get_shipping_class_id()'s int);
- `created_via` in our order create on 7.8.2: read-only there and ignored, sent for 9.x;
  `line_items` in a refund create: read-only in the schema, read by
  adjust_create_refund_request_parameters(); `force` on DELETE is a route arg.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.woocommerce import WooCommerceShop
from plugin.sync.ports import Address, MarketplaceLine, RefundLine, ShopOrderDraft
from sandbox.woocommerce import WooState, base_url, serve, stop
from sandbox.woocommerce.orders import set_status
from tests.contract import woocommerce_captures as captures
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    FakeClock,
)

CATALOG = [
    {"name": "Koffiemolen", "sku": "KM-1", "global_unique_id": "8712345678901", "manage_stock": True,
     "stock_quantity": 10, "regular_price": "24.95", "meta_data": [{"key": "_ean", "value": "8712345678901"}]},
    {"name": "Gift card", "sku": "GIFT", "regular_price": "25.00"},
    {"name": "Shirt", "sku": "SH", "variations": [
        {"sku": "SH-RED", "global_unique_id": "8712345678918", "manage_stock": True, "stock_quantity": 4,
         "regular_price": "12.00", "attributes": [{"name": "Color", "option": "Red"}]}]},
    {"name": "Mug", "sku": "MUG", "manage_stock": True, "stock_quantity": 30, "variations": [
        {"sku": "MUG-S", "regular_price": "8.00", "attributes": [{"name": "Size", "option": "S"}]}]},
]
ADDRESS = Address(first_name="Anna", last_name="de Vries", street="Kerkstraat", house_number="12",
                  zip_code="1234 AB", city="Utrecht", country_code="NL", email="anna@example.nl")
# What the adapter sends that the route does not declare in that version, knowingly (see above).
IGNORED_OK = {
    ("7.8.2", "/wc/v3/orders", "POST"): {"created_via"},
    ("*", "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds", "POST"): {"line_items"},
}
# Where WooCommerce serves another JSON type than its schema declares (see above).
SCHEMA_LIES = {"variation": {"manage_stock": "string", "shipping_class_id": "integer"}}
# GET /products/<id> answers for a variation id too, with type "variation" (outside the enum).
ENUM_EXTRA = {"product": {"type": ["variation"]}}


@dataclass
class Exchange:
    method: str
    path: str
    query: dict
    body: dict | None
    status: int
    answer: object


def _kind(pattern: str) -> str | None:
    """Which resource a route answers with (None: not one we check the shape of)."""
    kinds = {
        "/wc/v3/orders": "order", "/wc/v3/orders/(?P<id>[\\d]+)": "order",
        "/wc/v3/products": "product", "/wc/v3/products/(?P<id>[\\d]+)": "product",
        "/wc/v3/products/(?P<product_id>[\\d]+)/variations": "variation",
        "/wc/v3/products/(?P<product_id>[\\d]+)/variations/(?P<id>[\\d]+)": "variation",
        "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds": "refund",
        "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/(?P<id>[\\d]+)": "refund",
        "/wc/v3/orders/(?P<order_id>[\\d]+)/notes": "note",
        "/wc/v3/orders/(?P<order_id>[\\d]+)/notes/(?P<id>[\\d]+)": "note",
        "/wc/v3/webhooks": "webhook", "/wc/v3/webhooks/(?P<id>[\\d]+)": "webhook",
    }
    return kinds.get(pattern)


def _captured(version: str, kind: str) -> list[dict]:
    """Real answers of this kind: the captured delivery bodies (order and product webhooks carry
    exactly what GET answers)."""
    topic = {"order": "order.updated", "product": "product.updated"}.get(kind)
    return [d.json() for d in captures.of_topic(version, topic)] if topic else []


def _captured_keys(version: str, kind: str) -> set[str] | None:
    """The properties a real answer always has, where bodies were captured; else None."""
    bodies = _captured(version, kind)
    return set.intersection(*(set(b) for b in bodies)) if bodies else None


def _reference(version: str, kind: str) -> dict | None:
    """A real answer to compare with where the schema is wrong: the richest captured body (its
    line items, meta, tracking). A refund's line items are order line items (the refunds
    controller extends the orders controller and renders items with the same code)."""
    if kind == "refund":
        order = _reference(version, "order")
        return {"line_items": order["line_items"]} if order else None
    bodies = _captured(version, kind)
    if not bodies:
        return None
    return max(bodies, key=lambda b: (len(b.get("line_items") or []), len(json.dumps(b))))


def _retyped(schema: dict, kind: str) -> dict:
    props = dict(schema["properties"])
    for name, extra in SCHEMA_LIES.get(kind, {}).items():
        declared = props[name]["type"]
        props[name] = {**props[name], "type": [*(declared if isinstance(declared, list) else [declared]), extra]}
    for name, values in ENUM_EXTRA.get(kind, {}).items():
        props[name] = {**props[name], "enum": [*props[name]["enum"], *values]}
    return {**schema, "properties": props}


def answer_problems(version: str, route: captures.Route, item: object) -> list[str]:
    kind = _kind(route.pattern)
    schema = _retyped(route.schema, kind)
    real = _captured_keys(version, kind)
    expected = real if real is not None else (set(schema["properties"]) - captures.WRITE_ONLY.get(kind, set())
                                              | captures.OUTSIDE_SCHEMA[kind])
    problems = captures.shape_problems(item, schema, f"{kind}", real=_reference(version, kind),
                                       extra_ok=captures.OUTSIDE_SCHEMA[kind], required=expected)
    if isinstance(item, dict):
        problems.extend(f"{kind}.{key}: not in the real {version} answer"
                        for key in sorted(set(item) - expected - {"_links"}) if real is not None)
        self_links = (item.get("_links") or {}).get("self") or [{}]
        if ("targetHints" in self_links[0]) != (version != "7.8.2"):
            problems.append(f"{kind}._links.self: targetHints {'missing' if version != '7.8.2' else 'not served'}")
    return problems


@pytest.fixture(params=captures.VERSIONS)
def played(request):
    """The sandbox playing one captured version, every REST exchange recorded."""
    version = request.param
    clock = FakeClock()
    state = WooState(seed=7, clock=clock, wc_version=version, delivery_timeout=1.0, ping_timeout=1.0)
    state.add_key(CONSUMER_KEY, CONSUMER_SECRET)
    server, thread = serve("127.0.0.1", 0, state)
    exchanges: list[Exchange] = []

    @server.app.after_request
    def _record(response):
        from flask import request as flask_request
        if flask_request.path.startswith("/wp-json/"):
            body = flask_request.get_json(silent=True) if flask_request.data else None
            exchanges.append(Exchange(flask_request.method, flask_request.path,
                                      {k: v for k, v in flask_request.args.items()}, body,
                                      response.status_code, json.loads(response.get_data() or b"null")))
        return response

    try:
        yield version, state, base_url(server), exchanges, clock
    finally:
        stop(server, thread)


def _exercise(url: str, state: WooState, clock: FakeClock) -> None:
    """Every kind of REST call the adapter makes, once or more."""
    # told its version as at install: a 9.9 shop gets the created_via filter, 7.8 does not
    shop = WooCommerceShop(url, CONSUMER_KEY, CONSUMER_SECRET, timeout=3, read_attempts=1, wc_version=state.wc_version,
                           allow_private_hosts=True, tracking_meta_keys=("_wc_shipment_tracking_items",))
    import requests
    made = {p["sku"]: p for p in requests.post(f"{url}/_sandbox/products", json=CATALOG, timeout=5).json()}
    started = clock()
    draft = ShopOrderDraft(ref="ob-1", marketplace="bol", external_id="A1", status="processing", shipping=ADDRESS,
                           lines=(MarketplaceLine("L1", "8712345678901", "Koffiemolen", 2, Decimal("24.95"), sku="KM-1"),
                                  MarketplaceLine("L2", "", "Shirt red", 1, Decimal("12.00"), sku="SH-RED")))
    created = shop.create_order(draft)
    shop.get_order(created.id)
    assert shop.find_order_by_ref("ob-1", created_after=started) is not None
    assert shop.find_order_by_ref("ob-none", created_after=started) is None
    list(shop.orders_modified_after(started - timedelta(minutes=5)))
    lines = shop.order_lines(created.id)
    shop.add_note(created.id, "a note")
    shop.find_note(created.id, "a note")
    shop.create_refund(created.id, (RefundLine(lines[0].id, 1, Decimal("24.95")),), Decimal("24.95"), "return R1")
    shop.list_refunds(created.id)
    shop.remove_lines(created.id, ("L2",), "line L2 cancelled")
    other = shop.create_order(ShopOrderDraft(ref="ob-2", marketplace="bol", external_id="A2", status="processing",
                                             shipping=ADDRESS, lines=draft.lines[:1]))
    shop.cancel_order(other.id, "cancelled at bol")
    with state.lock:
        set_status(state, state.orders[created.id], "completed")
    shop.get_product(made["KM-1"]["id"])
    shop.get_product(made["SH-RED"]["id"])
    shop.find_products(skus=("KM-1", "SH-RED"), eans=("8712345678901", "0000000000000"))
    list(shop.products_modified_after(started - timedelta(minutes=5)))
    list(shop.all_products())
    hook_url = "http://127.0.0.1:9/hooks"
    shop.ensure_webhooks(hook_url, "whsec", ("order.updated", "order.deleted", "product.updated"))
    shop.ensure_webhooks(hook_url, "whsec", ("order.updated",), fresh=True)
    shop.webhooks_for(hook_url)
    shop.remove_webhooks(hook_url)
    shop.check()


def test_adapter_traffic_and_sandbox_answers_match_the_real_shop(played):
    version, state, url, exchanges, clock = played
    _exercise(url, state, clock)
    seen_kinds: set[str] = set()
    problems: list[str] = []
    for exchange in exchanges:
        route = captures.route_for(version, exchange.path)
        if route is None:
            # Routes the real shop of this version does not have (e.g. /variations before 10.3)
            # must be refused as WordPress refuses them.
            assert exchange.status == 404 and exchange.answer["code"] == "rest_no_route", exchange.path
            continue
        where = f"{exchange.method} {exchange.path}"
        ignored = (IGNORED_OK.get((version, route.pattern, exchange.method), set())
                   | IGNORED_OK.get(("*", route.pattern, exchange.method), set()))
        problems.extend(f"{where}: {p}" for p in captures.arg_problems(
            route, exchange.method, exchange.query, exchange.body, ignored_ok=ignored))
        kind = _kind(route.pattern)
        if kind is None or exchange.status >= 300 or "_fields" in exchange.query:
            continue
        seen_kinds.add(kind)
        items = exchange.answer if isinstance(exchange.answer, list) else [exchange.answer]
        for item in items:
            problems.extend(f"{where}: {p}" for p in answer_problems(version, route, item))
    assert not sorted(set(problems)), "\n".join(sorted(set(problems)))
    assert seen_kinds == {"order", "product", "variation", "refund", "note", "webhook"}


def test_the_checks_are_not_vacuous():
    """What the real shop would not say is caught: an unknown property, a wrong type, a missing
    property, a query argument the route does not have in that version, a value outside an enum."""
    route = captures.route_for("9.9.5", "/wp-json/wc/v3/orders/12")
    good = json.loads(captures.of_topic("9.9.5", "order.updated")[0].body)
    assert answer_problems("9.9.5", route, good) == []
    assert answer_problems("9.9.5", route, {**good, "made_up": 1}) != []
    assert answer_problems("9.9.5", route, {**good, "total": 19.99}) != []
    assert answer_problems("9.9.5", route, {k: v for k, v in good.items() if k != "currency"}) != []
    assert answer_problems("9.9.5", route, {**good, "_links": {"self": [{"href": "x"}]}}) != []
    old = captures.route_for("7.8.2", "/wp-json/wc/v3/orders")
    assert captures.arg_problems(old, "GET", {"created_via": "orderbridge"}, None) != []
    new = captures.route_for("9.9.5", "/wp-json/wc/v3/orders")
    assert captures.arg_problems(new, "GET", {"created_via": "orderbridge"}, None) == []
    assert captures.arg_problems(new, "GET", {"orderby": "total"}, None) != []
    assert captures.arg_problems(new, "GET", {"per_page": "many"}, None) != []
    assert captures.arg_problems(new, "POST", {}, {"set_paid": "yes"}) != []
