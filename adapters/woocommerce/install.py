"""Connecting a shop without copying keys by hand: WooCommerce's app authorization (wc-auth).

The merchant's browser goes to `authorize_url(...)`, logs in and approves; WooCommerce then
creates an API key and POSTs it as JSON to `callback_url` (read it with AuthCallbackSchema),
and only after that callback answered HTTP 200 sends the browser on to
`return_url?success=1&user_id=...` (`success=0` when the merchant denied). Anything but 200
from the callback deletes the key again and shows the merchant an error page.

Facts to keep in mind (class-wc-auth.php):
- callback_url must be https (http is refused before the merchant even sees a page);
- WooCommerce urldecodes return_url and callback_url once more after the query string itself
  was decoded, so keep `%`-escapes and `+` out of them (put state in a path segment or in
  user_id instead); user_id comes back in the callback body and on return_url unchanged;
- the callback body's user_id is a string, key_id an integer.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from marshmallow import EXCLUDE, Schema, fields, validate

SCOPES = ("read", "write", "read_write")
AUTHORIZE_PATH = "/wc-auth/v1/authorize"


def authorize_url(store_url: str, *, app_name: str, user_id: str, return_url: str, callback_url: str,
                  scope: str = "read_write") -> str:
    """The shop's authorization page for this app; send the merchant's browser there."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    for name, value in (("app_name", app_name), ("user_id", user_id), ("return_url", return_url),
                        ("callback_url", callback_url)):
        if not value:
            raise ValueError(f"{name} is required")     # WooCommerce: "Missing parameter <name>"
    query = urlencode({"app_name": app_name, "scope": scope, "user_id": user_id,
                       "return_url": return_url, "callback_url": callback_url}, quote_via=quote)
    return f"{store_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


class AuthCallbackSchema(Schema):
    """The JSON WooCommerce POSTs to callback_url; the secret is load-only so dumping never
    shows it."""

    class Meta:
        unknown = EXCLUDE

    key_id = fields.Integer(required=True, strict=True)
    user_id = fields.String(required=True, validate=validate.Length(min=1))
    consumer_key = fields.String(required=True, validate=validate.Regexp(r"^ck_[A-Za-z0-9]+$"))
    consumer_secret = fields.String(required=True, load_only=True,
                                    validate=validate.Regexp(r"^cs_[A-Za-z0-9]+$"))
    key_permissions = fields.String(required=True, validate=validate.OneOf(SCOPES))
