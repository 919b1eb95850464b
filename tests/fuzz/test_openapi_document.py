"""tests/fuzz/openapi.yaml describes exactly the app's routes: every rule of the real url_map is
in the document with the same methods, and every documented path is a real rule."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCUMENT = Path(__file__).with_name("openapi.yaml")
# Flask's own static files are not part of the app's surface
UNDOCUMENTED = {"static"}
METHODS = {"get", "post", "put", "patch", "delete"}


def _document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def _as_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def test_every_route_is_documented_and_every_documented_path_is_a_route(world):
    routes: dict[str, set[str]] = {}
    for rule in world.app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED:
            continue
        routes.setdefault(_as_openapi(rule.rule), set()).update(
            m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m for m in item if m in METHODS} for path, item in _document()["paths"].items()}
    assert documented == routes


def test_documented_path_parameters_match_the_rules(world):
    doc = _document()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method in METHODS & set(item):
            params = [*item.get("parameters", []), *item[method].get("parameters", [])]
            resolved = [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                        for p in params]
            assert {p["name"] for p in resolved if p["in"] == "path"} == names, f"{method} {path}"


def test_documented_tabs_are_the_apps_tabs():
    from plugin.store.order_views import TABS
    from plugin.store.stock_views import RETURN_TABS, STOCK_TABS
    doc = _document()
    assert set(doc["components"]["parameters"]["OrderTab"]["schema"]["enum"]) == set(TABS)
    stock = next(p for p in doc["paths"]["/admin/stock"]["get"]["parameters"] if p.get("name") == "tab")
    returns = next(p for p in doc["paths"]["/admin/returns"]["get"]["parameters"] if p.get("name") == "tab")
    assert set(stock["schema"]["enum"]) == set(STOCK_TABS)
    assert set(returns["schema"]["enum"]) == set(RETURN_TABS)
