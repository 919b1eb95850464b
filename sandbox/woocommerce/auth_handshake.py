"""WC_Auth's handshake logic (includes/class-wc-auth.php), without Flask: validating the five
parameters, the URLs WooCommerce builds from them, creating the key and POSTing it to the app.

Facts mirrored:
- Every route validates first: each of app_name, user_id, return_url, callback_url, scope must
  be non-empty ("Missing parameter %s"); scope is read|write|read_write ("Invalid scope %s");
  return_url and callback_url are urldecode()d once more, get "https://" put in front when they
  have no "://", and must pass FILTER_VALIDATE_URL ("The %s is not a valid URL"); callback_url
  must start with https://, compared case-insensitively (stripos), "The callback_url needs to
  be over SSL"; the sandbox too unless `state.require_https_callback` is turned off for a
  plain-http dev run). Any failure is wp_die("Error: <message>.", 401).
- The key: consumer key "ck_" + 40 hex, secret "cs_" + 40 hex, description
  "<app name, trimmed to 170> - API (<Y-m-d H:i:s UTC>)", the scope as permissions, owned by the
  logged-in user. The callback gets JSON {key_id, user_id, consumer_key, consumer_secret,
  key_permissions}, user_id being the app's own string, through wp_safe_remote_post (60 s,
  redirects followed); anything but a final 200 deletes the key again.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit, urlunsplit

import httpx

from .state import WooState
from .wpjson import php_json

PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")
SCOPES = {"read": "Read", "write": "Write", "read_write": "Read/Write"}
# get_permissions_in_scope(): what the grant page lists.
PERMISSIONS = {
    "read": ["View coupons", "View customers", "View orders and sales reports", "View products"],
    "write": ["Create webhooks", "Create coupons", "Create customers", "Create orders", "Create products"],
    "read_write": ["Create webhooks", "View and manage coupons", "View and manage customers",
                   "View and manage orders and sales reports", "View and manage products"],
}
SEND_FAILED = "An error occurred in the request and at the time were unable to send the consumer data"
# FILTER_VALIDATE_URL refuses anything outside these characters (no spaces, no non-ASCII).
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


class AuthFailure(Exception):
    """Rendered as wp_die("Error: <message>.") with status 401, as WC_Auth does."""


def wc_clean(value: str) -> str:
    """sanitize_text_field(): no tags, no line breaks, whitespace collapsed and trimmed."""
    return " ".join(re.sub(r"<[^>]*>", "", value).split())


def formatted_url(url: str) -> str:
    """WC_Auth::get_formatted_url()."""
    url = unquote_plus(url)
    return url if "://" in url else "https://" + url


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return bool(_URL_CHARS.match(url) and parts.scheme and parts.netloc and parts.hostname)


def validate(state: WooState, values) -> dict[str, str]:
    """WC_Auth::make_validation() over $_REQUEST (`values`: a MultiDict, query then form)."""
    data = {}
    for name in PARAMS:
        value = (values.getlist(name) or [""])[-1]          # PHP keeps the last of a repeated key
        as_array = any(key.startswith(name + "[") for key in values)   # name[]=...: a PHP array
        if not value and not as_array:
            raise AuthFailure(f"Missing parameter {name}")
        if as_array:
            raise AuthFailure(f"Invalid parameter {name}")
        data[name] = value
    if data["scope"] not in SCOPES:
        raise AuthFailure(f"Invalid scope {wc_clean(data['scope'])}")
    for name in ("return_url", "callback_url"):
        url = formatted_url(data[name])
        if not _valid_url(url):
            raise AuthFailure(f"The {url} is not a valid URL")
    if state.require_https_callback and not formatted_url(data["callback_url"]).lower().startswith("https://"):
        raise AuthFailure("The callback_url needs to be over SSL")
    return data


def add_query_arg(url: str, args: dict) -> str:
    """add_query_arg(): the URL's own query and fragment kept, same-named args replaced."""
    url, hash_mark, fragment = url.partition("#")
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in args]
    pairs += [(k, str(v)) for k, v in args.items()]
    return urlunsplit(parts._replace(query=urlencode(pairs))) + hash_mark + fragment


def build_url(state: WooState, data: dict, endpoint: str) -> str:
    """WC_Auth::build_url(): /wc-auth/v1/<endpoint>/ with the five params carried along."""
    query = {"app_name": wc_clean(data["app_name"]), "user_id": wc_clean(data["user_id"]),
             "return_url": formatted_url(data["return_url"]),
             "callback_url": formatted_url(data["callback_url"]), "scope": wc_clean(data["scope"])}
    return f"{state.site_url}/wc-auth/v1/{endpoint}/?{urlencode(query, quote_via=quote)}"


def return_url(data: dict, success: int) -> str:
    """Where Deny (success=0) and a granted key (success=1) send the browser."""
    return add_query_arg(formatted_url(data["return_url"]),
                         {"success": success, "user_id": wc_clean(data["user_id"])})


def _trim(text: str, chars: int = 170, suffix: str = "...") -> str:
    """wc_trim_string()."""
    return text[:chars - len(suffix)] + suffix if len(text) > chars else text


def create_keys(state: WooState, data: dict, wp_user_id: int) -> dict:
    """WC_Auth::create_keys(): the key is live at once; returns the consumer data to send."""
    description = f"{_trim(wc_clean(data['app_name']))} - API ({state.now():%Y-%m-%d %H:%M:%S})"
    key = state.add_key("ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20), data["scope"],
                        description=description, user_id=wp_user_id)
    with state.lock:
        state.stats["wc_auth_keys_created"] += 1
    return {"key_id": key.key_id, "user_id": data["user_id"], "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}


def post_consumer_data(state: WooState, consumer_data: dict, url: str) -> None:
    """WC_Auth::post_consumer_data(); raises AuthFailure unless the app answers 200. Called
    outside the state lock: the app may well call the REST API with the new key meanwhile."""
    # wp_safe_remote_post(): the same URL check webhook deliveries get.
    if state.enforce_safe_urls and not state.deliverer._is_safe(url):
        raise AuthFailure("A valid URL was not provided.")
    headers = {"Content-Type": "application/json;charset=UTF-8",
               "User-Agent": f"WordPress/{state.wp_version}; {state.site_url}"}
    try:
        with httpx.Client(timeout=state.auth_callback_timeout, follow_redirects=True, max_redirects=5) as client:
            response = client.post(url, content=php_json(consumer_data), headers=headers)
    except httpx.TimeoutException:
        raise AuthFailure("cURL error 28: Operation timed out") from None
    except httpx.HTTPError as exc:
        if not isinstance(exc, httpx.ConnectError):
            raise AuthFailure(f"cURL error 56: {exc.__class__.__name__}") from None
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        raise AuthFailure(f"cURL error 7: Failed to connect to {parts.hostname} port {port}") from None
    if response.status_code != 200:
        raise AuthFailure(SEND_FAILED)
