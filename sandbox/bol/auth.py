"""POST /token: bol's client-credentials login (login.bol.com/token), served by the same app.

bol takes the client id and secret as HTTP Basic credentials and `grant_type` in the query string,
and answers a short-lived bearer token (expires_in 299 s in production).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

bp = Blueprint("bol_token", __name__)


def _oauth_error(status: int, error: str, description: str, headers: dict | None = None):
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@bp.post("/token")
def token():
    state = current_app.config["BOL_STATE"]
    with state.lock:
        state.stats.requests["POST /token"] += 1
    grant_type = request.args.get("grant_type") or request.form.get("grant_type")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    creds = request.authorization
    if creds is None or creds.type != "basic" or not creds.username or creds.password is None:
        return _oauth_error(401, "invalid_client", "Missing HTTP Basic client credentials.",
                            {"WWW-Authenticate": 'Basic realm="bol.com"'})
    if not state.authenticate(creds.username, creds.password):
        with state.lock:
            state.stats.unauthorized += 1
        return _oauth_error(401, "invalid_client", "Bad client credentials.",
                            {"WWW-Authenticate": 'Basic realm="bol.com"'})
    access_token, expires_in = state.issue_token(creds.username)
    response = jsonify({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "retailer:*",
    })
    response.headers["Cache-Control"] = "no-store"
    return response
