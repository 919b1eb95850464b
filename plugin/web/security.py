"""Sessions, CSRF and the signed-in shop.

- Sessions are Flask's signed cookies: HttpOnly, SameSite=Lax (the shop's redirect back to
  /install/return is a top-level GET, which Lax lets through; cross-site POSTs carry no cookie),
  Secure in production. The only identity in a session is the shop id, put there by a completed
  wc-auth approval (plugin/sync/install.py), never by a URL typed into a form.
- Every state-changing request outside the server-to-server endpoints (webhooks, the wc-auth
  callback) must carry the session's CSRF token, as a form field or an X-CSRF-Token header.
- Admin views get the shop from `signed_in_shop()` and scope every query by its id, so another
  shop's ids are simply not found (404), never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
from datetime import timedelta
from functools import wraps

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from plugin.store import models

# Server-to-server endpoints: authenticated by their own means (webhook signature; the install
# token and keys that must work against the shop), never by a browser session.
CSRF_EXEMPT = frozenset({"webhooks.woocommerce", "auth.install_callback", "health.healthz"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def derive_key(master: str, purpose: str) -> bytes:
    """One configured secret, a separate key for each use (sessions, install tokens)."""
    return hmac.new(master.encode(), purpose.encode(), hashlib.sha256).digest()


def init_app(app: Flask, master_key: str, *, production: bool, session_hours: int) -> None:
    app.secret_key = derive_key(master_key, "orderbridge flask session")
    app.config.update(
        SESSION_COOKIE_NAME="orderbridge_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours),
    )
    app.before_request(_csrf_protect)
    app.before_request(_refuse_nul)
    app.jinja_env.globals["csrf_token"] = csrf_token


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = pysecrets.token_urlsafe(32)
    return token


def _csrf_protect():
    if request.method not in UNSAFE_METHODS or request.endpoint in CSRF_EXEMPT or request.endpoint is None:
        return None
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, "this form is out of date or did not come from this site (CSRF check failed): "
                   "reload the page and try again")
    return None


def _refuse_nul():
    """No field or query parameter of this app may hold a NUL character: PostgreSQL text cannot
    store or compare one (the driver raises, a 500), and no person types one. Refused here for
    every view at once; the server-to-server endpoints read their raw bodies themselves."""
    if request.endpoint in CSRF_EXEMPT or request.endpoint is None:
        return None
    sources = [request.args] + ([request.form] if request.method in UNSAFE_METHODS else [])
    for source in sources:
        for key, values in source.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                abort(400, "a field holds a NUL character: remove it and try again")
    return None


def sign_in(shop_id: int) -> None:
    session.clear()                      # a new session id for a new identity (no fixation)
    session.permanent = True
    session["shop_id"] = shop_id
    session["csrf"] = pysecrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def signed_in_shop() -> models.Shop:
    return g.shop


def shop_required(view):
    """The view runs with g.shop: the signed-in shop, loaded fresh. Pages send a stranger to the
    sign-in page; anything else gets 401."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        shop_id = session.get("shop_id")
        shop = None
        if isinstance(shop_id, int):
            ctx = current_app.extensions["orderbridge"]
            with ctx.db.session() as s:
                shop = s.get(models.Shop, shop_id)
        if shop is None:
            session.pop("shop_id", None)
            if request.method == "GET" and not request.path.endswith(".json"):
                return redirect(url_for("auth.signin", next=request.path))
            abort(401, "sign in with your shop first")
        g.shop = shop
        return view(*args, **kwargs)
    return wrapper
