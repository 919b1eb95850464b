from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    ctx = current_app.extensions["orderbridge"]
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    return jsonify(status="ok")
