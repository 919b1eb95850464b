"""Helpers every route module shares: the state, the caller's key, bodies, paging, `_fields`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request

from .state import WooState
from .wpjson import ApiError, json_response

REST_PREFIX = "/wp-json"

# What WordPress answers an anonymous caller, per kind of route (status 401 when not logged in).
_CANNOT = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "read": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
}


def get_state() -> WooState:
    return current_app.extensions["woo_state"]


def require(action: str) -> None:
    """The route's permission_callback: an authenticated API key, else 401."""
    if getattr(g, "woo_key", None) is None:
        code, message = _CANNOT[action]
        raise ApiError(401, code, message)


def json_body() -> dict[str, Any]:
    """The request's parameters from a JSON or form body (WP_REST_Request::get_json_params)."""
    raw = request.get_data(cache=True)
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.",
                       json_error_code=4, json_error_message="Syntax error") from None
    if not isinstance(body, dict):
        raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.",
                       json_error_code=4, json_error_message="Syntax error")
    return body


def shaped(data: Any) -> Any:
    """WordPress' `_fields=a,b` trims each object to those top-level keys (`a.b` keeps `a`)."""
    raw = request.args.get("_fields")
    if not raw:
        return data
    wanted = {part.strip().split(".", 1)[0] for part in raw.split(",") if part.strip()}

    def trim(obj: Any) -> Any:
        return {k: v for k, v in obj.items() if k in wanted} if isinstance(obj, dict) else obj

    return [trim(item) for item in data] if isinstance(data, list) else trim(data)


def respond(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    return json_response(shaped(data), status, headers)


def paged(data: list, total: int, pages: int, page: int, route: str) -> Response:
    """A collection response with X-WP-Total, X-WP-TotalPages and prev/next Link headers."""
    state = get_state()
    query = {k: v for k, v in request.args.items() if not k.startswith("oauth_") and k not in ("consumer_key", "consumer_secret")}
    base = f"{state.site_url}{REST_PREFIX}{route}"
    links = []
    if page > 1:
        links.append(f'<{base}?{urlencode({**query, "page": min(page - 1, max(pages, 1))})}>; rel="prev"')
    if pages > page:
        links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return respond(data, 200, headers)
