"""Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from plugin.config import Settings


def create_app(settings: Settings | None = None, context=None) -> Flask:
    from plugin import runtime

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
    app.config["ORDERBRIDGE"] = settings
    if context is not None:
        runtime.set_context(context)
    app.extensions["orderbridge"] = context or runtime.get_context()

    from plugin.web import health, webhooks
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # Every client error is a JSON answer with a reason, never an HTML page or a traceback.
        return jsonify(error=exc.name, reason=exc.description), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logging.getLogger("orderbridge.web").exception("unhandled error")
        return jsonify(error="Internal Server Error", reason="unexpected error; it has been logged"), 500

    return app
