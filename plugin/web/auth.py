"""Install and sign-in through the shop's own approval (WooCommerce wc-auth); see
plugin/sync/install.py for why this proves control of the shop.

    GET  /install?store_url=…   start an install: to the shop's /wc-auth/v1/authorize
    POST /install/callback      the shop POSTs the new keys (server to server, JSON)
    GET  /install/return        the shop sends the browser back: signed in, to the settings
    GET/POST /signin            "Sign in with your shop": the same approval, for an installed shop
    POST /signout
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import ValidationError

from plugin.config import public_url_problem
from plugin.schemas import first_error
from plugin.sync.install import APP_NAME, InstallError, accept_callback, redeem, start_grant
from plugin.sync.shop_capabilities import detect_capabilities
from plugin.web import security, tokens

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)



def _ctx():
    return current_app.extensions["orderbridge"]


def _token_key() -> bytes:
    return current_app.extensions["orderbridge_token_key"]


@bp.get("/")
def home():
    if session.get("shop_id"):
        return redirect(url_for("orders.index"))
    return render_template("signin.html", store_url="", error=None, mode="home")


@bp.get("/install")
def install():
    store_url = request.args.get("store_url", "")
    if not store_url:
        return render_template("signin.html", store_url="", error=None, mode="install")
    return _to_shop("install", store_url)


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if request.method == "GET":
        return render_template("signin.html", store_url="", error=None, mode="signin")
    return _to_shop("signin", request.form.get("store_url", ""))


@bp.post("/signout")
def signout():
    security.sign_out()
    flash("You are signed out.", "ok")
    return redirect(url_for("auth.signin"))


def _to_shop(purpose: str, store_url: str):
    ctx = _ctx()
    # The shop's wc-auth would refuse our plain-http callback on its own error page; say what to
    # fix here instead, before anything is stored or the merchant is sent away.
    problem = public_url_problem(ctx.settings)
    if problem:
        log.warning("%s refused: %s", purpose, problem)
        message = ("orderbridge cannot be installed from this address: its public URL "
                   f"(ORDERBRIDGE_PUBLIC_URL = {ctx.settings.public_url}) is not https, and WooCommerce only "
                   "sends its keys to an https address. Ask whoever runs orderbridge to set "
                   "ORDERBRIDGE_PUBLIC_URL to its https address.")
        return render_template("signin.html", store_url=store_url, error=message, mode=purpose), 409
    try:
        nonce, url = start_grant(ctx, purpose, store_url)
    except InstallError as exc:
        return render_template("signin.html", store_url=store_url, error=str(exc), mode=purpose), 400
    token = tokens.make(_token_key(), nonce, purpose)
    session["grant"] = nonce            # only this browser may redeem the grant
    public = ctx.settings.public_url
    target = ctx.adapters.authorize_url(url, app_name=APP_NAME, user_id=token,
                                        return_url=f"{public}{url_for('auth.install_return')}",
                                        callback_url=f"{public}{url_for('auth.install_callback')}")
    return redirect(target, code=303)


@bp.post("/install/callback")
def install_callback():
    """The shop, not a browser: JSON in, JSON out. A non-200 makes WooCommerce delete the key."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:               # JSON nested thousands deep: not keys, and not a 500
        payload = None
    if not isinstance(payload, dict):
        abort(400, "expected a JSON object with the keys")
    try:
        keys = _ctx().adapters.install_callback_schema().load(payload)
    except ValidationError as exc:
        abort(400, first_error(exc))
    try:
        nonce, _purpose = tokens.read(_token_key(), keys["user_id"])
    except tokens.InvalidToken as exc:
        abort(401, str(exc))
    try:
        shop_id = accept_callback(_ctx(), nonce, keys)
    except InstallError as exc:
        log.warning("install callback refused: %s", exc)
        abort(400, str(exc))
    return jsonify(status="ok", shop=shop_id)


@bp.get("/install/return")
def install_return():
    token = request.args.get("user_id", "")
    try:
        nonce, purpose = tokens.read(_token_key(), token)
    except tokens.InvalidToken as exc:
        return _failed(str(exc), "install")
    if request.args.get("success") != "1":
        return _failed("The shop did not approve the connection; nothing was changed.", purpose)
    if session.get("grant") != nonce:
        return _failed("This approval was started in another browser: start again here.", purpose)
    try:
        shop_id, purpose = redeem(_ctx(), nonce)
    except InstallError as exc:
        return _failed(str(exc), purpose)
    # What the shop's software has (its version, the GTIN field), for the settings to say what
    # to match stock by. Asked here, not in the key callback: the shop waits on that callback
    # and deletes the key if it fails or times out; this read may be slow and never fails.
    detect_capabilities(_ctx(), shop_id)
    security.sign_in(shop_id)
    if purpose == "install":
        flash("orderbridge is installed on your shop. Add a marketplace connection to start.", "ok")
        return redirect(url_for("settings.index"))
    flash("Signed in.", "ok")
    return redirect(url_for("orders.index"))


def _failed(message: str, purpose: str):
    return render_template("signin.html", store_url="", error=message, mode=purpose), 400
