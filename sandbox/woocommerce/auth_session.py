"""The WordPress half of app authorization: one administrator, the logged-in cookie, nonces.

Mirrors pluggable.php closely enough that a browser, httpx or Playwright sees no difference:
- wp_signon(): the administrator (user ID 1) logs in with `state.admin_user` / `admin_password`;
  the error texts are WordPress' own.
- The login cookie is `wordpress_logged_in_<md5(site url)>` = "login|expiration|token|hmac",
  HttpOnly, path "/", a session cookie (no "Remember me") valid two days. The token names a
  server-side session (WP_Session_Tokens), so logging out kills the cookie everywhere.
- wp_create_nonce(): 10 hex chars of a keyed hash over tick|action|user id|session token. A tick
  is half of the nonce life (a day); the current and the previous tick verify. Logged-out
  visitors share user 0 and an empty token, as in WordPress.
Wall-clock time (PHP time()), not the shop's clock: cookies and nonces are about real time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from html import escape

from flask import Request

from .state import WooState

ADMIN_ID = 1
SESSION_LIFE = 2 * 24 * 3600          # auth_cookie_expiration without "Remember me"
NONCE_LIFE = 24 * 3600                # nonce_life filter default


def cookie_name(state: WooState) -> str:
    """LOGGED_IN_COOKIE: 'wordpress_logged_in_' . COOKIEHASH, COOKIEHASH = md5(siteurl)."""
    return "wordpress_logged_in_" + hashlib.md5(state.site_url.encode()).hexdigest()


def _sign(state: WooState, text: str) -> str:
    return hmac.new(state.auth_salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def check_password(state: WooState, login: str, password: str) -> str | None:
    """wp_authenticate(): None when the credentials are right, else WordPress' error (HTML)."""
    if not login:
        return "<strong>Error:</strong> The username field is empty."
    if not password:
        return "<strong>Error:</strong> The password field is empty."
    if login != state.admin_user:
        return (f"<strong>Error:</strong> The username <strong>{escape(login)}</strong> is not registered "
                "on this site. If you are unsure of your username, try your email address instead.")
    if not hmac.compare_digest(password.encode(), state.admin_password.encode()):
        return (f"<strong>Error:</strong> The password you entered for the username <strong>{escape(login)}"
                "</strong> is incorrect.")
    return None


def log_in(state: WooState, login: str) -> str:
    """A new session for `login`; returns the cookie value (wp_set_auth_cookie)."""
    token = secrets.token_urlsafe(32)
    expiration = int(time.time()) + SESSION_LIFE
    with state.lock:
        state.sessions[token] = login
    return f"{login}|{expiration}|{token}|{_sign(state, f'{login}|{expiration}|{token}')}"


def _session(state: WooState, request: Request) -> tuple[str, str] | None:
    """(login, token) of a valid logged-in cookie (wp_validate_auth_cookie)."""
    parts = (request.cookies.get(cookie_name(state)) or "").split("|")
    if len(parts) != 4:
        return None
    login, expiration, token, mac = parts
    if not expiration.isdigit() or int(expiration) < time.time():
        return None
    if not hmac.compare_digest(mac, _sign(state, f"{login}|{expiration}|{token}")):
        return None
    with state.lock:
        return (login, token) if state.sessions.get(token) == login else None


def current_user(state: WooState, request: Request) -> str | None:
    session = _session(state, request)
    return session[0] if session else None


def log_out(state: WooState, request: Request) -> None:
    """wp_logout(): destroy this session; the cookie no longer validates anywhere."""
    session = _session(state, request)
    if session:
        with state.lock:
            state.sessions.pop(session[1], None)


def _nonce(state: WooState, action: str, session: tuple[str, str] | None, tick: int) -> str:
    uid, token = (ADMIN_ID, session[1]) if session else (0, "")
    return _sign(state, f"{tick}|{action}|{uid}|{token}")[-12:-2]


def _tick() -> int:
    return math.ceil(time.time() / (NONCE_LIFE / 2))


def create_nonce(state: WooState, request: Request, action: str) -> str:
    return _nonce(state, action, _session(state, request), _tick())


def verify_nonce(state: WooState, request: Request, action: str, nonce: str | None) -> bool:
    if not nonce:
        return False
    session, tick = _session(state, request), _tick()
    return any(hmac.compare_digest(nonce, _nonce(state, action, session, t)) for t in (tick, tick - 1))
