"""WordPress-style JSON: the bytes, the dates and the error bodies the real REST API produces.

The bytes matter for webhooks: WooCommerce signs `trim(wp_json_encode($payload))`, which is PHP's
json_encode (compact, `\\/`-escaped slashes, `\\uXXXX` for non-ASCII). A receiver that re-serialises
the JSON before checking the signature fails against real WooCommerce, so the sandbox sends the
same bytes PHP would.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Response

# rest_parse_date() in WordPress core accepts exactly this shape for `format: date-time` params.
_REST_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::\d{2})?)?$")


def php_json(obj: Any) -> bytes:
    """json_encode() without flags: compact, ASCII only, forward slashes escaped."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # "/" can only occur inside JSON strings, so a plain replace is exact.
    return text.replace("/", "\\/").encode("ascii")


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(php_json(obj), status=status, headers=headers or {},
                    content_type="application/json; charset=UTF-8")


def wc_date(value: datetime | None) -> str | None:
    """wc_rest_prepare_date_response(): 'Y-m-d\\TH:i:s', no offset. Site timezone is UTC here,
    so the local and the _gmt variants are the same string."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def parse_rest_date(raw: str) -> datetime | None:
    """A `date-time` query param as WordPress reads it, as naive UTC; None if WP would reject it.

    Without an offset the value is site-local time, which is UTC in this sandbox; with an offset
    it is converted (what date_create() + setTimezone(site tz) does in WP_Date_Query)."""
    if not _REST_DATE.match(raw):
        return None
    text = raw.replace("t", "T").replace(" ", "T").replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


class ApiError(Exception):
    """A WP_Error: rendered as {"code", "message", "data": {"status", ...}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self, headers: dict | None = None) -> Response:
        return json_response(self.body(), self.status, headers)


def invalid_param(name: str, reason: str) -> ApiError:
    """The 400 WordPress answers when a request arg fails its schema (enum, type, format)."""
    return ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                    params={name: reason}, details={})


def parse_bool(name: str, raw: Any) -> bool:
    """rest_sanitize_boolean() after rest_validate_value_from_schema(type=boolean)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0", ""):
        return raw.lower() in ("true", "1")
    raise invalid_param(name, f"{name} is not of type boolean.")


def is_integer(value: Any) -> bool:
    """rest_is_integer(): an int, or a string of digits (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def int_arg(args, name: str, default, *, minimum: int | None = None, maximum: int | None = None):
    """An integer query param with WordPress' messages for bad types and ranges."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not is_integer(raw):
        raise invalid_param(name, f"{name} is not of type integer.")
    value = int(raw)
    if maximum is not None and minimum is not None and not minimum <= value <= maximum:
        raise invalid_param(name, f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)")
    if minimum is not None and value < minimum:
        raise invalid_param(name, f"{name} must be greater than or equal to {minimum}")
    return value
