"""bol-shaped responses: the vendor media type and the Problem error body.

Written by hand with json.dumps rather than flask.jsonify so money stays a JSON number (Flask's
provider would turn Decimal into a string) and the Content-Type is the vendor type, not
application/json.
"""

from __future__ import annotations

import json

from flask import Response, request

from sandbox.bol.constants import PROBLEM_TYPE, VENDOR_JSON

TITLES = {
    400: "Error validating request. Consult the bol.com API documentation for more information.",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def vendor_json(payload: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type=VENDOR_JSON)


def violation(name: str, reason: str) -> dict:
    return {"name": name, "reason": reason}


def problem(status: int, detail: str, violations: list[dict] | None = None, *,
            headers: dict | None = None) -> Response:
    """A Problem (retailer-v10.json): type, title, status, detail, host, instance, violations."""
    body = {
        "type": PROBLEM_TYPE,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "host": "bol-sandbox",
        "instance": request.base_url,
        "violations": violations or [],
    }
    return vendor_json(body, status, headers)
