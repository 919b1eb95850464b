"""bol-shaped responses: the vendor media type and the Problem error body.

Written by hand with json.dumps rather than flask.jsonify so money stays a JSON number (Flask's
provider would turn Decimal into a string) and the Content-Type is the vendor type, not
application/json: v10, or v11 under /retailer/offers (constants.media_type_for).
"""

from __future__ import annotations

import json

from flask import Response, request

from sandbox.bol.constants import PROBLEM_TYPE, media_type_for

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
    return Response(json.dumps(payload), status=status, headers=headers, content_type=media_type_for(request.path))


def no_content() -> Response:
    """204: the write is done and there is nothing to say (the v11 offer PATCH)."""
    return Response(status=204, content_type=media_type_for(request.path))


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


class BodyError(Exception):
    """A request body refused before it reaches the service (wrong media type, not JSON)."""

    def __init__(self, response: Response, raw: object):
        super().__init__(response.status)
        self.response = response
        self.raw = raw


def json_body() -> object:
    """The request's JSON body in the path's vendor media type; raises BodyError with the 415 or
    400 Problem to answer (and the raw text, for the call log)."""
    wanted = media_type_for(request.path)
    if request.mimetype != wanted:
        raise BodyError(problem(415, f"Content-Type must be {wanted}."), request.get_data(as_text=True))
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise BodyError(problem(400, "Request body is not valid JSON.", [violation("body", "malformed JSON")]),
                        request.get_data(as_text=True)) from None
