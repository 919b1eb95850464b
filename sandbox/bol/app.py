"""The Flask app of the fake bol.com Retailer API v10 (and the Offers API v11)."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from sandbox.bol import (
    auth,
    cancellations,
    control,
    gateway,
    offers,
    orders,
    process_status,
    returns,
    shipments,
)
from sandbox.bol.responses import problem
from sandbox.bol.state import BolState


def create_app(state: BolState | None = None) -> Flask:
    """A fresh app around `state` (a new, empty BolState when None); read it back from
    `app.config["BOL_STATE"]`."""
    app = Flask("sandbox.bol")
    app.config["BOL_STATE"] = state if state is not None else BolState()
    gateway.install(app, app.config["BOL_STATE"])
    for bp in (auth.bp, cancellations.bp, orders.bp, shipments.bp, process_status.bp, offers.bp, returns.bp,
               control.bp):
        app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Unknown paths and wrong methods under the API answer a Problem, like bol, not HTML.
        if gateway.is_api_path(request.path):
            return problem(exc.code or 500, exc.description or exc.name)
        return {"error": exc.name, "detail": exc.description}, exc.code

    return app
