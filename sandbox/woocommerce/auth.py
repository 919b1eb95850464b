"""REST API authentication as WC_REST_Authentication does it.

- Basic auth (consumer key as user, secret as password) or `consumer_key`/`consumer_secret`
  query params. WooCommerce only tries this when is_ssl(); the sandbox (plain http) accepts it
  unless `state.accept_basic_over_http` is False. An unknown key is not an error here: the
  request simply stays anonymous and the route refuses it (401 woocommerce_rest_cannot_*).
  A known key with a wrong secret is 401 "Consumer secret is invalid.".
- OAuth 1.0a one-legged (what the `woocommerce` Python client sends over http): parameters from
  the query string, a form body or an `Authorization: OAuth` header; HMAC-SHA1/256 over
  METHOD&rawurlencode(home_url + path)&<sorted, doubly encoded params>, key = secret + "&";
  timestamp within 15 minutes; nonce not reused within that window.
- The key's permissions (read / write / read_write) are checked per HTTP method.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from urllib.parse import quote, unquote, urlsplit

from flask import Request

from .models import ApiKey
from .state import WooState
from .wpjson import ApiError

OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
VALID_WINDOW = 15 * 60


def _auth_error(message: str) -> ApiError:
    return ApiError(401, "woocommerce_rest_authentication_error", message)


def authenticate(state: WooState, request: Request) -> ApiKey | None:
    """The key behind this request, None when anonymous; raises ApiError for bad credentials."""
    key = None
    if request.scheme == "https" or state.accept_basic_over_http:
        key = _basic(state, request)
    if key is None:
        key = _oauth(state, request)
    if key is not None and not key.can(request.method):
        kind = "read" if request.method in ("GET", "HEAD") else "write"
        raise _auth_error(f"The API key provided does not have {kind} permissions.")
    return key


def _basic(state: WooState, request: Request) -> ApiKey | None:
    consumer_key = request.args.get("consumer_key") or ""
    consumer_secret = request.args.get("consumer_secret") or ""
    if not (consumer_key and consumer_secret):
        consumer_key = consumer_secret = ""
    if not consumer_key and request.authorization and request.authorization.type == "basic":
        consumer_key = request.authorization.username or ""
        consumer_secret = request.authorization.password or ""
    if not consumer_key or not consumer_secret:
        return None
    with state.lock:
        key = state.keys.get(consumer_key)
    if key is None:
        return None
    if not hmac.compare_digest(key.consumer_secret.encode(), consumer_secret.encode()):
        raise _auth_error("Consumer secret is invalid.")
    return key


def _oauth_params(request: Request) -> dict[str, str]:
    # PHP's $_GET keeps the last value of a repeated key (the Python client sends its params
    # twice over http: once in the signed URL and once more through requests' `params=`).
    params = {name: request.args.getlist(name)[-1] for name in request.args}
    if request.mimetype == "application/x-www-form-urlencoded":
        params.update({name: request.form.getlist(name)[-1] for name in request.form})
    header = (request.headers.get("Authorization") or "").strip()
    if header.startswith("OAuth "):
        for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header):
            params[name] = unquote(quoted or bare)
    return params


def _oauth(state: WooState, request: Request) -> ApiKey | None:
    params = _oauth_params(request)
    missing = [name for name in OAUTH_PARAMS if not params.get(name)]
    if len(missing) == len(OAUTH_PARAMS):
        return None                       # not trying OAuth at all
    if missing:
        label = "parameter" if len(missing) == 1 else "parameters"
        raise ApiError(401, "woocommerce_rest_authentication_missing_parameter",
                       f"Missing OAuth {label} {', '.join(missing)}")
    with state.lock:
        key = state.keys.get(params["oauth_consumer_key"])
    if key is None:
        raise _auth_error("Consumer key is invalid.")
    _check_signature(state, request, key, params)
    _check_timestamp_and_nonce(state, key, params["oauth_timestamp"], params["oauth_nonce"])
    return key


def _rfc3986(text: str) -> str:
    """wc_rest_urlencode_rfc3986(): PHP rawurlencode()."""
    return quote(text, safe="-_.~")


def _check_signature(state: WooState, request: Request, key: ApiKey, params: dict[str, str]) -> None:
    home = state.configured_site_url or request.host_url.rstrip("/")
    scheme = "https" if request.scheme == "https" else "http"
    home = f"{scheme}://{urlsplit(home).netloc}{urlsplit(home).path}"
    base_request_uri = _rfc3986(home + request.path)
    consumer_signature = unquote(params["oauth_signature"].replace(" ", "+"))
    signed = {name: value for name, value in params.items() if name != "oauth_signature"}
    pairs = [_rfc3986(f"{_rfc3986(name)}={_rfc3986(signed[name])}")
             for name in sorted(signed, key=lambda n: n.encode())]
    string_to_sign = f"{request.method.upper()}&{base_request_uri}&{'%26'.join(pairs)}"
    method = signed.get("oauth_signature_method")
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise _auth_error("Invalid signature - signature method is invalid.")
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(hmac.new((key.consumer_secret + "&").encode(), string_to_sign.encode(), digest).digest())
    if not hmac.compare_digest(expected, consumer_signature.encode()):
        raise _auth_error("Invalid signature - provided signature does not match.")


def _check_timestamp_and_nonce(state: WooState, key: ApiKey, raw_timestamp: str, nonce: str) -> None:
    now = int(time.time())                 # wall clock, as PHP time(); not the shop's clock
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise _auth_error("Invalid timestamp.") from None
    if timestamp < now - VALID_WINDOW or timestamp > now + VALID_WINDOW:
        raise _auth_error("Invalid timestamp.")
    with state.lock:
        if nonce in key.nonces.values():
            raise _auth_error("Invalid nonce - nonce has already been used.")
        key.nonces[timestamp] = nonce
        for stamp in [s for s in key.nonces if s < now - VALID_WINDOW]:
            del key.nonces[stamp]
