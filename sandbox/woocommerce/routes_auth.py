"""/wc-auth/v1/<route> (WooCommerce app authorization) and /wp-login.php.

The flow, as WC_Auth::auth_endpoint() runs it (the handshake rules are in auth_handshake.py):
- authorize: logged out -> 302 to login/ with the same params; logged in -> the grant page
  (Approve -> access_granted/?...&wc_auth_nonce=N, Deny -> return_url?success=0&user_id=U).
- login: logged in -> 302 to authorize/; else the login form. Its POST (to its own URL) is
  WC_Form_Handler::process_login(), which runs before the endpoint: with a valid
  woocommerce-login-nonce and right credentials it sets the login cookie and 302s to the
  form's `redirect` (the authorize URL); wrong ones show the form again with the error; a bad
  nonce silently shows the form again.
- access_granted: needs the login and the nonce; creates the key, POSTs it to callback_url
  (synchronously), then 302 to return_url?success=1&user_id=U. A failed POST deletes the key.
- anything else, and every failure above: wp_die("Error: <message>.", 401 "Access denied").
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, request
from werkzeug.datastructures import CombinedMultiDict

from . import auth_pages
from .api import get_state
from .auth_handshake import (
    PERMISSIONS,
    SCOPES,
    AuthFailure,
    build_url,
    create_keys,
    formatted_url,
    post_consumer_data,
    return_url,
    validate,
)
from .auth_session import (
    ADMIN_ID,
    check_password,
    cookie_name,
    create_nonce,
    current_user,
    log_in,
    log_out,
    verify_nonce,
)
from .state import WooState

bp = Blueprint("woo_auth", __name__)

GRANT_ACTION = "wc_auth_grant_access"
LOGIN_ACTION = "woocommerce-login"
LOGOUT_ACTION = "log-out"


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=UTF-8",
                    headers={"Cache-Control": "no-cache, must-revalidate, max-age=0, no-store, private"})


def _same_site(state: WooState, url: str, fallback: str) -> str:
    """wp_validate_redirect(): only the site's own host (or a relative path), else `fallback`."""
    host = urlsplit(url).hostname
    return url if url and (host is None or host == urlsplit(state.site_url).hostname) else fallback


def _logged_in(state: WooState, response: Response, login: str) -> Response:
    response.set_cookie(cookie_name(state), log_in(state, login), path="/", httponly=True,
                        secure=request.is_secure, samesite="Lax")
    return response


@bp.route("/wc-auth/v1/<route>/", methods=["GET", "POST"], strict_slashes=False)
def wc_auth(route: str):
    state = get_state()
    route = route.lower()
    errors: list[str] = []
    if route == "login" and request.method == "POST" and request.form.get("login"):
        outcome = _process_login(state)
        if isinstance(outcome, Response):
            return outcome
        errors = outcome
    consumer_data: dict = {}
    try:
        data = validate(state, CombinedMultiDict([request.args, request.form]))
        user = current_user(state, request)
        if route == "login" and user is None:
            return _html(auth_pages.login_form(
                data["app_name"], return_url(data, 0), build_url(state, data, "authorize"),
                create_nonce(state, request, LOGIN_ACTION), request.form.get("username", ""), errors))
        if route == "login":
            return redirect(build_url(state, data, "authorize"), 302)
        if route == "authorize" and user is None:
            return redirect(build_url(state, data, "login"), 302)
        if route == "authorize":
            granted = f"{build_url(state, data, 'access_granted')}&wc_auth_nonce=" \
                      f"{create_nonce(state, request, GRANT_ACTION)}"
            return _html(auth_pages.grant_access(
                data["app_name"], SCOPES[data["scope"]], PERMISSIONS[data["scope"]], user, granted,
                return_url(data, 0), _logout_url(state, build_url(state, data, "login"))))
        if route == "access_granted" and user is not None:
            if not verify_nonce(state, request, GRANT_ACTION, request.args.get("wc_auth_nonce")):
                raise AuthFailure("Invalid nonce verification")
            consumer_data = create_keys(state, data, ADMIN_ID)
            post_consumer_data(state, consumer_data, formatted_url(data["callback_url"]))
            with state.lock:
                state.stats["wc_auth_granted"] += 1
            return redirect(return_url(data, 1), 302)
        raise AuthFailure("You do not have permission to access this page")
    except AuthFailure as exc:
        if consumer_data:                       # WC_Auth::maybe_delete_key()
            state.remove_key(consumer_data["key_id"])
        return _html(auth_pages.wp_die(f"Error: {escape(str(exc))}.", "Access denied"), 401)


def _process_login(state: WooState) -> Response | list[str]:
    """WC_Form_Handler::process_login(): a redirect when logged in, else the notices to show."""
    if not verify_nonce(state, request, LOGIN_ACTION, request.form.get("woocommerce-login-nonce")):
        return []
    username = request.form.get("username", "").strip()
    if not username:
        return ["<strong>Error:</strong> Username is required."]
    error = check_password(state, username, request.form.get("password", ""))
    if error:
        return [error]
    target = _same_site(state, request.form.get("redirect", ""), f"{state.site_url}/my-account/")
    return _logged_in(state, redirect(target, 302), username)


def _logout_url(state: WooState, redirect_to: str) -> str:
    """wp_logout_url(): the nonce binds it to this session."""
    query = urlencode({"action": "logout", "redirect_to": redirect_to,
                       "_wpnonce": create_nonce(state, request, LOGOUT_ACTION)})
    return f"{state.site_url}/wp-login.php?{query}"


@bp.route("/wp-login.php", methods=["GET", "POST"])
def wp_login():
    """WordPress' own login page, for completeness: log in (POST log/pwd) and log out. The
    test cookie WordPress also demands is not checked."""
    state = get_state()
    redirect_to = request.values.get("redirect_to", "")
    if request.args.get("action") == "logout":
        if not verify_nonce(state, request, LOGOUT_ACTION, request.args.get("_wpnonce")):
            return _html(auth_pages.confirm_logout(_logout_url(state, redirect_to)), 403)
        log_out(state, request)
        target = _same_site(state, redirect_to, f"{state.site_url}/wp-login.php?loggedout=true")
        response = redirect(target, 302)
        response.delete_cookie(cookie_name(state), path="/")
        return response
    action_url = f"{state.site_url}/wp-login.php"
    if request.method == "GET":
        message = "You are now logged out." if request.args.get("loggedout") else ""
        return _html(auth_pages.wp_login(action_url, redirect_to, "", None, message))
    username = request.form.get("log", "").strip()
    error = check_password(state, username, request.form.get("pwd", ""))
    if error:
        return _html(auth_pages.wp_login(action_url, redirect_to, username, error))
    target = _same_site(state, redirect_to, f"{state.site_url}/wp-admin/")
    return _logged_in(state, redirect(target, 302), username)
