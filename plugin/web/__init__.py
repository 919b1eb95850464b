"""Flask application factory: the webhook endpoint, the install/sign-in flow, and the merchant's
admin (settings, orders, billing), all in one app."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from plugin.config import Settings, warn_if_public_url_insecure

# Machines talk to these: they get JSON errors. Everything else is a page for a person.
JSON_PREFIXES = ("/webhooks/", "/install/callback", "/healthz")
MAX_ID = 2**31 - 1


def create_app(settings: Settings | None = None, context=None) -> Flask:
    from plugin import runtime
    from plugin.store.secrets import load_key
    from plugin.web import security

    settings = settings or Settings.from_env()
    warn_if_public_url_insecure(settings)
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
    app.config["ORDERBRIDGE"] = settings
    if context is not None:
        runtime.set_context(context)
    app.extensions["orderbridge"] = context or runtime.get_context()
    master = load_key(settings.secret_key, settings.var_dir, production=settings.production)
    security.init_app(app, master, production=settings.production, session_hours=settings.session_hours)
    app.extensions["orderbridge_token_key"] = security.derive_key(master, "orderbridge install token")

    # Ids in URLs are database ids: <int:…> beyond a 32-bit column names nothing (404), instead
    # of an overflow error from the driver (SQLite: int too large; PostgreSQL: out of range).
    app.url_map.converters["int"] = BoundedIntConverter

    from plugin.web import auth, health, orders, stock, webhooks
    from plugin.web import settings as settings_views
    for module in (health, webhooks, auth, orders, stock, settings_views):
        app.register_blueprint(module.bp)

    @app.after_request
    def _headers(response):
        # The admin must not be framed by another site (clickjacking) nor cached by a proxy.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/admin"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # Every client error carries its reason, never a traceback.
        if _wants_json():
            return jsonify(error=exc.name, reason=exc.description), exc.code
        return render_template("error.html", code=exc.code, title=exc.name, reason=exc.description), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logging.getLogger("orderbridge.web").exception("unhandled error")
        if _wants_json():
            return jsonify(error="Internal Server Error", reason="unexpected error; it has been logged"), 500
        return render_template("error.html", code=500, title="Something went wrong",
                               reason="An unexpected error; it has been logged."), 500

    return app


class BoundedIntConverter(IntegerConverter):
    """werkzeug's int converter for database ids: a number beyond what an Integer column holds
    becomes 0, an id no row has, so the view answers its own 404 (refusing it in the converter
    would make werkzeug answer 405 when another method's rule has the same path)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if 0 <= number <= MAX_ID else 0


def _wants_json() -> bool:
    return (request.path.startswith(JSON_PREFIXES) or request.path.endswith(".json")
            or request.accept_mimetypes.best == "application/json")
