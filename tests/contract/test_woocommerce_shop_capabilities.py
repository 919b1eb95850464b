"""What a shop says it has (its WooCommerce version, whether products have the GTIN field): the
adapter's shop_capabilities against the sandbox playing each captured version, and the sandbox's
OPTIONS /products and GET /system_status answers against what the real 7.8.2 and 9.9.5 shops
answered (shared/specs/woocommerce/wc-v3-*.json). WooCommerce 7.8 has no `global_unique_id`:
stock matching by EAN needs to know that, or it silently matches nothing."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import requests

from adapters.errors import AuthError
from adapters.woocommerce import WooCommerceShop
from adapters.woocommerce.client import WooClient
from plugin.sync.ports import ShopCapabilities
from sandbox.woocommerce import WooState, base_url, serve, stop
from tests.contract import woocommerce_captures as captures
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    FakeClock,
)

# The nested descriptions (an array's `items`, an object's `properties`) the sandbox leaves out.
NESTED = ("items", "properties")
# Declared "array" in system_status' schema, served as PHP associative arrays, i.e. JSON objects
# (get_database_info()'s {"woocommerce": ..., "other": ...}, {"dropins": ..., "mu_plugins": ...}).
SYSTEM_STATUS_LIES = (("database", "database_tables"), ("dropins_mu_plugins",))
# A key of a WordPress user who may read orders but lacks manage_woocommerce.
CLERK_KEY = ("ck_" + "c1" * 20, "cs_" + "c2" * 20)


@contextmanager
def _sandbox(version: str):
    """The sandbox playing `version`, every REST request it gets recorded (method, path, query)."""
    state = WooState(seed=7, clock=FakeClock(), wc_version=version, delivery_timeout=1.0, ping_timeout=1.0)
    state.add_key(CONSUMER_KEY, CONSUMER_SECRET)
    state.add_key(*CLERK_KEY, user_id=2)
    server, thread = serve("127.0.0.1", 0, state)
    seen: list[tuple[str, str, dict]] = []

    @server.app.after_request
    def _record(response):
        from flask import request as flask_request
        if flask_request.path.startswith("/wp-json/"):
            seen.append((flask_request.method, flask_request.path, dict(flask_request.args)))
        return response

    try:
        yield state, base_url(server), seen
    finally:
        stop(server, thread)


def _shop(url: str, key: tuple[str, str] = (CONSUMER_KEY, CONSUMER_SECRET)) -> WooCommerceShop:
    return WooCommerceShop(url, *key, timeout=3, read_attempts=1, allow_private_hosts=True)


def _retyped(schema: dict) -> dict:
    """system_status' schema with SYSTEM_STATUS_LIES admitting objects."""
    schema = json.loads(json.dumps(schema))
    for path in SYSTEM_STATUS_LIES:
        node = schema
        for name in path:
            node = node["properties"][name]
        node["type"] = [node["type"], "object"]
    return schema


def _without_nested(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in NESTED}


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_the_adapter_reads_the_version_and_whether_products_have_the_gtin_field(version):
    with _sandbox(version) as (_state, url, seen):
        found = _shop(url).shop_capabilities()
    assert found == ShopCapabilities(version=version, has_gtin=version == "9.9.5")
    # what it asked is what those routes take in that version (WordPress drops unknown args)
    problems = []
    for method, path, query in seen:
        route = captures.route_for(version, path)
        assert route is not None, path
        if method != "OPTIONS":          # OPTIONS is WordPress' own, not one of the route's endpoints
            problems.extend(captures.arg_problems(route, method, query, None))
    assert [(m, p) for m, p, _ in seen] == [("OPTIONS", "/wp-json/wc/v3/products"),
                                           ("GET", "/wp-json/wc/v3/system_status")]
    assert problems == []


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_the_sandbox_describes_products_as_the_real_shop_does(version):
    real = captures.routes(version)["/wc/v3/products"]
    assert ("global_unique_id" in real["schema"]["properties"]) is (version == "9.9.5")   # the capture says so
    with _sandbox(version) as (_state, url, _seen):
        # WordPress answers OPTIONS without a permission check: no key needed
        answer = requests.options(f"{url}/wp-json/wc/v3/products", timeout=5)
    assert answer.status_code == 200
    ours = answer.json()
    assert (ours["namespace"], ours["methods"]) == (real["namespace"], real["methods"])
    schema, real_schema = ours["schema"], real["schema"]
    assert {k: v for k, v in schema.items() if k != "properties"} == \
        {k: v for k, v in real_schema.items() if k != "properties"}
    assert sorted(schema["properties"]) == sorted(real_schema["properties"])
    wrong = {name: (prop, _without_nested(real_schema["properties"][name]))
             for name, prop in schema["properties"].items() if prop != _without_nested(real_schema["properties"][name])}
    assert wrong == {}
    endpoints = {tuple(e["methods"]): e["args"] for e in ours["endpoints"]}
    real_endpoints = {tuple(e["methods"]): e["args"] for e in real["endpoints"]}
    assert set(endpoints) == set(real_endpoints) == {("GET",), ("POST",)}
    # POST: every writable property, as the real route declares it; GET: the args it describes are real ones
    assert sorted(endpoints[("POST",)]) == sorted(real_endpoints[("POST",)])
    for method, args in endpoints.items():
        for name, arg in args.items():
            assert arg == _without_nested(real_endpoints[method][name]), (method, name)


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_the_sandbox_system_status_is_the_real_shops(version):
    route = captures.route_for(version, "/wp-json/wc/v3/system_status")
    with _sandbox(version) as (state, url, _seen):
        client = WooClient(url, CONSUMER_KEY, CONSUMER_SECRET, timeout=3, allow_private_hosts=True)
        status = client.get("system_status").data
        anonymous = requests.get(f"{url}/wp-json/wc/v3/system_status", timeout=5)
        clerk = requests.get(f"{url}/wp-json/wc/v3/system_status", timeout=5,
                             params={"consumer_key": CLERK_KEY[0], "consumer_secret": CLERK_KEY[1]})
    schema = _retyped(route.schema)
    assert sorted(status) == sorted(schema["properties"])
    assert sorted(status["environment"]) == sorted(schema["properties"]["environment"]["properties"])
    assert captures.shape_problems(status, schema, "system_status") == []
    assert (status["environment"]["version"], status["environment"]["wp_version"]) == (
        version, captures.WORDPRESS[version])
    # manage_woocommerce: 401 anonymous, 403 for a working key whose user lacks it
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    assert (clerk.status_code, clerk.json()["code"]) == (403, "woocommerce_rest_cannot_view")


@pytest.mark.parametrize("version", captures.VERSIONS)
def test_a_key_without_manage_woocommerce_still_tells_the_gtin_field(version):
    """system_status refuses the key (403): the version stays unknown, the products' schema
    still says whether there is a GTIN field, and nothing is raised."""
    with _sandbox(version) as (_state, url, _seen):
        found = _shop(url, CLERK_KEY).shop_capabilities()
    assert found == ShopCapabilities(version=None, has_gtin=version == "9.9.5")


def test_a_shop_that_does_not_answer_says_nothing_and_dead_keys_raise():
    with _sandbox("7.8.2") as (state, url, _seen):
        state.faults.update({"error_rate": 1.0})          # every REST call a 500 or 503
        assert _shop(url).shop_capabilities() == ShopCapabilities(version=None, has_gtin=None)
        state.faults.update({"error_rate": 0.0})
        state.remove_key(state.keys[CONSUMER_KEY].key_id)
        with pytest.raises(AuthError):
            _shop(url).shop_capabilities()


def test_the_checks_are_not_vacuous():
    """A 7.8.2 schema served with the 9.9.5 GTIN field would be caught."""
    real = captures.routes("7.8.2")["/wc/v3/products"]["schema"]["properties"]
    newer = captures.routes("9.9.5")["/wc/v3/products"]["schema"]["properties"]
    assert sorted(newer) != sorted(real) and "global_unique_id" in set(newer) - set(real)
    assert json.dumps(_without_nested(newer["sku"])) != json.dumps(_without_nested(real["sku"]))
