"""What real WooCommerce 7.8.2 and 9.9.5 shops said about themselves (shared/specs/woocommerce),
loaded for the contract tests: the REST API's route descriptions (args and JSON schemas from
OPTIONS) and the webhook requests exactly as the shops sent them.

WordPress' schemas are not JSON Schema proper (types "mixed", "date-time", "bool"; `readonly`,
`context`), so `shape_problems` checks an instance the way the tests need: JSON types, enums, and
the set of properties (one the real shop does not have is a problem, one it always has and the
sandbox lacks too). `arg_problems` checks what a client sends against a route's `args`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

VERSIONS = ("7.8.2", "9.9.5")
WORDPRESS = {"7.8.2": "6.1.9", "9.9.5": "6.9"}
SECRET = "capture-secret"     # the secret of the webhooks that made the captured deliveries
REPO = Path(__file__).resolve().parents[2]

# Served by the real shop although its schema does not list them (seen in the captured bodies):
# WordPress adds `_links`; the orders controller adds `currency_symbol`. The variations
# controller renders `name`, `parent_id` and the `*_gmt` dates outside its schema as well (no
# variation body was captured to show it; the adapter reads parent_id, and the _gmt dates with a
# fallback to the local ones).
OUTSIDE_SCHEMA = {
    "order": {"_links", "currency_symbol"},
    "product": {"_links"},
    "variation": {"_links", "name", "parent_id", "date_created_gmt", "date_modified_gmt"},
    "refund": {"_links"},
    "note": {"_links"},
    "webhook": {"_links"},
}
# In the schema, never in an answer: write-only request fields (the webhook `secret` is never
# shown back; `set_paid`, `manual_update`, `api_refund`, `api_restock`, `added_by_user` only act).
WRITE_ONLY = {
    "order": {"set_paid", "manual_update"},
    "refund": {"api_refund", "api_restock"},
    "note": {"added_by_user"},
    "webhook": {"secret"},
}
# Query args every WordPress route takes besides its own, and the OAuth 1.0a / key params.
GLOBAL_QUERY = {"_fields", "_embed", "_envelope", "_method", "_jsonp"}
AUTH_QUERY = re.compile(r"^(oauth_\w+|consumer_key|consumer_secret)$")


def find_capture_dir() -> Path | None:
    candidates = [os.environ.get("ORDERBRIDGE_SPECS_DIR"), REPO / "specs", REPO.parent / "shared" / "specs"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "woocommerce" / "wc-v3-9.9.5.json").is_file():
            return Path(candidate) / "woocommerce"
    return None


def capture_dir() -> Path:
    found = find_capture_dir()
    if found is None:
        message = "WooCommerce captures not found (set ORDERBRIDGE_SPECS_DIR to the specs/ folder)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


# ------------------------------------------------------------------ routes
@dataclass(frozen=True)
class Route:
    pattern: str
    data: dict

    @property
    def schema(self) -> dict:
        return self.data.get("schema") or {}

    def args(self, method: str) -> dict:
        for endpoint in self.data.get("endpoints", []):
            if method.upper() in endpoint.get("methods", []):
                return endpoint.get("args", {})
        raise KeyError(f"{self.pattern} takes no {method}")

    def takes(self, method: str) -> bool:
        return any(method.upper() in e.get("methods", []) for e in self.data.get("endpoints", []))


@cache
def routes(version: str) -> dict[str, dict]:
    return json.loads((capture_dir() / f"wc-v3-{version}.json").read_text())["routes"]


def route_for(version: str, path: str) -> Route | None:
    """The route a request path (/wp-json/wc/v3/... or /wc/v3/...) is served by in `version`;
    the most specific (longest literal) match wins, as WordPress tries exact routes in order."""
    rest = path.split("/wp-json", 1)[-1].rstrip("/") or "/"
    matches = [(pattern, data) for pattern, data in routes(version).items()
               if re.fullmatch(pattern, rest)]
    if not matches:
        return None
    pattern, data = max(matches, key=lambda m: len(re.sub(r"\(\?P<\w+>[^)]*\)", "", m[0])))
    return Route(pattern, data)


# ------------------------------------------------------------------ deliveries
@dataclass(frozen=True)
class Delivery:
    name: str
    received_at: float
    request_line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def header_names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.headers)

    @property
    def topic(self) -> str | None:
        return self.header("X-WC-Webhook-Topic")

    @property
    def is_ping(self) -> bool:
        return self.topic is None

    def json(self) -> Any:
        return json.loads(self.body)


def parse_delivery_file(name: str, raw: bytes) -> Delivery:
    head, _, body = raw.partition(b"\n\n")
    first, *lines = head.decode().split("\n")
    stamp, request_line = first.split(" ", 1)
    headers = tuple(tuple(part.strip() for part in line.split(":", 1)) for line in lines if line.strip())
    return Delivery(name, float(stamp), request_line, headers, body)


@cache
def deliveries(version: str) -> tuple[Delivery, ...]:
    folder = capture_dir() / f"deliveries-{version}"
    return tuple(parse_delivery_file(p.name, p.read_bytes()) for p in sorted(folder.glob("*.txt")))


def of_topic(version: str, topic: str) -> list[Delivery]:
    return [d for d in deliveries(version) if d.topic == topic]


def pings(version: str) -> list[Delivery]:
    return [d for d in deliveries(version) if d.is_ping]


# ------------------------------------------------------------------ shapes
def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _allowed(schema_type: Any) -> set[str] | None:
    """The JSON types a WordPress schema `type` admits; None for anything ("mixed")."""
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    allowed: set[str] = set()
    for entry in types:
        if entry in ("mixed", None) or isinstance(entry, dict):
            return None
        allowed.add({"date-time": "string", "bool": "boolean"}.get(entry, entry))
    if "number" in allowed:
        allowed.add("integer")
    return allowed


def shape_problems(instance: Any, schema: Mapping, where: str = "$", *, real: Any = None,
                   extra_ok: Iterable[str] = (), required: Iterable[str] = ()) -> list[str]:
    """What in `instance` the real shop would not answer: wrong JSON types, values outside an
    enum, properties the schema does not have (`extra_ok` names top-level ones served outside it),
    and top-level properties in `required` that are missing.

    `real` is a real answer of the same resource (a captured body) where there is one: when the
    schema and the real answer disagree, the real answer wins (a property it has at that place,
    a JSON type it has there). null passes for any property: WooCommerce serves null for unset
    values whatever type the schema declares."""
    problems: list[str] = []
    if instance is None:
        return problems
    allowed = _allowed(schema.get("type", "mixed"))
    kind = _json_type(instance)
    if allowed is not None and kind not in allowed and kind != _json_type(real):
        # PHP's json_encode turns an empty associative array into [] (no properties).
        if not (kind == "array" and instance == [] and "object" in allowed):
            problems.append(f"{where}: {kind}, the real shop answers {sorted(allowed)}")
            return problems
    if "enum" in schema and instance not in schema["enum"]:
        problems.append(f"{where}: {instance!r} is not one of {schema['enum']}")
    if isinstance(instance, dict) and ("properties" in schema or isinstance(real, dict)):
        props = schema.get("properties") or {}
        real_keys = set(real) if isinstance(real, dict) else set()
        for key, value in instance.items():
            child_real = real.get(key) if isinstance(real, dict) else None
            if key in props or key in real_keys:
                problems.extend(shape_problems(value, props.get(key, {}), f"{where}.{key}", real=child_real))
            elif key not in set(extra_ok):
                problems.append(f"{where}.{key}: not a property the real shop has")
        problems.extend(f"{where}.{key}: missing (the real shop always has it)"
                        for key in required if key not in instance)
    if isinstance(instance, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        child_real = real[0] if isinstance(real, list) and real else None
        if items or child_real is not None:
            for index, item in enumerate(instance):
                problems.extend(shape_problems(item, items, f"{where}[{index}]", real=child_real))
    return problems


def same_shape_problems(ours: Any, real: Any, where: str = "$") -> list[str]:
    """Compare two JSON documents by keys and JSON types only (values differ by nature).
    Lists compare their first elements (when both have one)."""
    kind, real_kind = _json_type(ours), _json_type(real)
    if real_kind == "null" or kind == "null":
        return []        # a nullable field (date_completed, low_stock_amount): either is fine
    if {kind, real_kind} <= {"integer", "number"}:
        return []
    if kind != real_kind:
        return [f"{where}: {kind}, the real shop sent {real_kind}"]
    problems: list[str] = []
    if kind == "object":
        for key in sorted(set(ours) - set(real)):
            problems.append(f"{where}.{key}: the real shop does not send it")
        for key in sorted(set(real) - set(ours)):
            problems.append(f"{where}.{key}: missing (the real shop sends it)")
        for key in sorted(set(ours) & set(real)):
            problems.extend(same_shape_problems(ours[key], real[key], f"{where}.{key}"))
    elif kind == "array" and ours and real:
        problems.extend(same_shape_problems(ours[0], real[0], f"{where}[0]"))
    return problems


# ------------------------------------------------------------------ request args
def _arg_value_problems(name: str, value: Any, spec: Mapping, *, from_query: bool) -> list[str]:
    """One argument against its spec. Query strings carry only strings: "1", "true", "a,b"."""
    problems: list[str] = []
    types = _allowed(spec.get("type", "mixed"))
    if types is None:
        return problems
    if from_query and isinstance(value, str):
        if "integer" in types and re.fullmatch(r"-?\d+", value):
            value = int(value)
        elif "boolean" in types and value.lower() in ("true", "false", "1", "0"):
            value = value.lower() in ("true", "1")
        elif "array" in types:
            value = [v for v in value.split(",") if v]
            items = spec.get("items") or {}
            for index, item in enumerate(value):
                problems.extend(_arg_value_problems(f"{name}[{index}]", item, items, from_query=True))
            return problems
    kind = _json_type(value)
    if kind not in types and not (kind == "string" and "integer" in types and re.fullmatch(r"-?\d+", value)):
        problems.append(f"{name}: {value!r} is not of type {sorted(types)}")
        return problems
    if "enum" in spec and value not in spec["enum"]:
        problems.append(f"{name}: {value!r} is not one of {spec['enum']}")
    if isinstance(value, list) and isinstance(spec.get("items"), dict):
        for index, item in enumerate(value):
            problems.extend(_arg_value_problems(f"{name}[{index}]", item, spec["items"], from_query=from_query))
    if isinstance(value, dict) and isinstance(spec.get("properties"), dict):
        for key, item in value.items():
            if key in spec["properties"]:
                problems.extend(_arg_value_problems(f"{name}.{key}", item, spec["properties"][key],
                                                    from_query=from_query))
    return problems


def arg_problems(route: Route, method: str, query: Mapping[str, Any], body: Mapping[str, Any] | None, *,
                 ignored_ok: Iterable[str] = ()) -> list[str]:
    """What a request sends that `route` does not take (an unknown arg is silently ignored by
    WordPress, so sending one is a defect unless listed in `ignored_ok`) or takes with other
    types or values. PUT/PATCH use the route's edit args (WordPress lists them with POST)."""
    args = route.args("POST" if method in ("PUT", "PATCH") and not route.takes(method) else method)
    problems: list[str] = []
    ignored = set(ignored_ok)
    path_params = set(re.findall(r"\(\?P<(\w+)>", route.pattern))
    for name, value in query.items():
        base = name[:-2] if name.endswith("[]") else name
        if base in GLOBAL_QUERY or AUTH_QUERY.match(base) or base in path_params:
            continue
        if base not in args:
            if base not in ignored:
                problems.append(f"query {base}: {route.pattern} {method} has no such argument")
            continue
        problems.extend(f"query {p}" for p in _arg_value_problems(base, value, args[base], from_query=True))
    for name, value in (body or {}).items():
        if name not in args:
            if name not in ignored:
                problems.append(f"body {name}: {route.pattern} {method} has no such argument")
            continue
        problems.extend(f"body {p}" for p in _arg_value_problems(name, value, args[name], from_query=False))
    return problems
