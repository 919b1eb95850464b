"""The Flask app: request hooks shared by every route, and the blueprints.

Per request, in this order (as a proxy + WordPress would):
  1. webhook event buffer opened (flushed to the delivery queue when the request ends);
  2. REST only: injected faults (429 / 5xx / slow), then authentication (the wc-auth pages and
     /wp-login.php are browser pages: no faults, no API keys);
  3. the route; WP_Error-style JSON for any ApiError, `rest_no_route` for unknown /wp-json paths.
"""

from __future__ import annotations

import time

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from . import (
    routes_auth,
    routes_control,
    routes_discovery,
    routes_notes,
    routes_orders,
    routes_products,
    routes_refunds,
    routes_stock_changes,
    routes_tracking,
    routes_webhooks,
)
from .api import REST_PREFIX, get_state
from .auth import authenticate
from .state import WooState
from .wpjson import ApiError, json_response

_SERVICE_UNAVAILABLE = (b"<html><head><title>503 Service Unavailable</title></head><body>"
                        b"<h1>Service Unavailable</h1></body></html>")


def create_app(state: WooState | None = None) -> Flask:
    app = Flask("sandbox.woocommerce")
    app.extensions["woo_state"] = state or WooState()
    # routes_discovery first: its OPTIONS /products answers before Flask's automatic OPTIONS
    for module in (routes_discovery, routes_orders, routes_refunds, routes_notes, routes_products, routes_webhooks, routes_tracking,
                   routes_control, routes_stock_changes, routes_auth):
        app.register_blueprint(module.bp)

    @app.before_request
    def _open_request():
        state = get_state()
        state.set_site_url(request.host_url, only_if_unset=True)
        state.begin_request()
        if not request.path.startswith(REST_PREFIX + "/"):
            return None
        state.stats[f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"] += 1
        injected = _inject_faults(state)
        if injected is not None:
            return injected
        g.woo_key = authenticate(state, request)
        return None

    @app.teardown_request
    def _close_request(_exc):
        get_state().end_request()

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(REST_PREFIX + "/") and exc.code in (404, 405):
            return ApiError(404, "rest_no_route", "No route was found matching the URL and request method.").response()
        return exc

    return app


def _inject_faults(state: WooState):
    faults = state.faults
    with state.lock:
        limited = faults.rate_limit > 0
        if limited:
            faults.rate_limit -= 1
        elif faults.rate_limit_writes > 0 and request.method not in ("GET", "HEAD", "OPTIONS"):
            faults.rate_limit_writes -= 1
            limited = True
        if limited:
            state.stats["fault_rate_limited"] += 1
        retry_after = faults.retry_after
    if limited:
        return json_response({"code": "rest_too_many_requests", "message": "Too Many Requests",
                              "data": {"status": 429}}, 429, {"Retry-After": str(retry_after)})
    if state.chance(faults.error_rate):
        state.stats["fault_error"] += 1
        if state.chance(0.5):
            return _SERVICE_UNAVAILABLE, 503, {"Content-Type": "text/html", "Retry-After": "5"}
        return json_response(routes_orders.CRITICAL_ERROR, 500)
    if state.chance(faults.timeout_rate):
        # Slow, not dead: the request still runs after the pause, so a caller that timed out
        # may have changed the shop anyway.
        state.stats["fault_timeout"] += 1
        time.sleep(faults.timeout_sleep)
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000.0)
    return None
