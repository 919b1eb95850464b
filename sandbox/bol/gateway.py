"""What bol's API gateway does before a request reaches an endpoint, in this order:
injected latency, bearer authentication, Accept negotiation, rate limiting, then the injected
faults (timeouts and 5xx). Only /retailer and /shared calls pass through here; /token and the
/_sandbox control endpoints are never faulted, so tests can always reconfigure the fake.
"""

from __future__ import annotations

import time

from flask import Flask, g, request

from sandbox.bol.constants import media_type_for, rate_group
from sandbox.bol.responses import problem
from sandbox.bol.state import BolState


def is_api_path(path: str) -> bool:
    return path.startswith("/retailer/") or path.startswith("/shared/")


def install(app: Flask, state: BolState) -> None:
    @app.before_request
    def gate():
        if not is_api_path(request.path):
            return None
        g.received_at = time.time()
        rule = request.url_rule.rule if request.url_rule else request.path
        with state.lock:
            state.stats.requests[f"{request.method} {rule}"] += 1
            faults = state.faults.to_dict()     # one consistent snapshot per request

        if faults["latency_ms"]:
            time.sleep(faults["latency_ms"] / 1000.0)

        seller = _authenticate(state)
        if seller is None:
            with state.lock:
                state.stats.unauthorized += 1
            return problem(401, "Unauthorized: a valid, unexpired bearer token is required.",
                           headers={"WWW-Authenticate": 'Bearer realm="bol.com"'})
        g.seller = seller

        accepted = [mime for mime, quality in request.accept_mimetypes if quality > 0]
        wanted = media_type_for(request.path)
        if wanted not in accepted:
            return problem(406, f"The Accept header must be {wanted}.")

        retry_after = _forced_rate_limit(state)
        if retry_after is None:
            retry_after = state.take_rate_token(seller, rate_group(request.path, request.method)) or None
        if retry_after is not None:
            with state.lock:
                state.stats.rate_limited += 1
            return problem(429, "Too many requests, please retry later.",
                           headers={"Retry-After": str(retry_after)})

        if faults["timeout_rate"] and state.draw_fault() < faults["timeout_rate"]:
            with state.lock:
                state.stats.injected_timeouts += 1
            # The request is still processed afterwards: a client that gave up does not know
            # whether it took effect, exactly as with a real slow server.
            time.sleep(faults["timeout_sleep"])

        if faults["error_rate"] and state.draw_fault() < faults["error_rate"]:
            with state.lock:
                state.stats.injected_errors += 1
                status = 500 if state.fault_rng.random() < 0.5 else 503
            return problem(status, "Injected server error (sandbox fault injection).")
        return None

    @app.after_request
    def count_status(response):
        with state.lock:
            state.stats.statuses[response.status_code] += 1
        return response


def _authenticate(state: BolState) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return state.seller_for_token(token.strip())


def _forced_rate_limit(state: BolState) -> int | None:
    """Retry-After seconds if this call is one of the forced 429s, else None."""
    with state.lock:
        if state.faults.rate_limit_burst > 0:
            state.faults.rate_limit_burst -= 1
            return int(state.faults.rate_limit_retry_after)
    return None
