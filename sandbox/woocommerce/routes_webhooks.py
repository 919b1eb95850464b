"""/wp-json/wc/v3/webhooks. Creating one sends no ping: the shop pings the URL right after the
webhook's first delivery (delivery.py), as the captured 7.8.2 and 9.9.5 shops did."""

from __future__ import annotations

from flask import Blueprint, request

from .api import get_state, json_body, paged, require, respond
from .webhooks import STATUSES, create_webhook, update_webhook, webhook_to_json
from .wpjson import ApiError, int_arg, parse_bool

bp = Blueprint("woo_webhooks", __name__, url_prefix="/wp-json/wc/v3")


def _invalid_id(status: int) -> ApiError:
    return ApiError(status, "woocommerce_rest_shop_webhook_invalid_id",
                    "ID is invalid." if status == 400 else "Invalid ID.")


@bp.get("/webhooks")
def list_webhooks():
    require("list")
    state = get_state()
    page = int_arg(request.args, "page", 1, minimum=1)
    per_page = int_arg(request.args, "per_page", 10, minimum=1, maximum=100)
    status = request.args.get("status", "all")
    if status not in ("all", *STATUSES):
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): status",
                       params={"status": "status is not one of all, active, paused, and disabled."}, details={})
    with state.lock:
        matches = sorted((w for w in state.webhooks.values() if status == "all" or w.status == status),
                         key=lambda w: (w.date_created, w.id), reverse=request.args.get("order", "desc") == "desc")
        total = len(matches)
        pages = -(-total // per_page) if total else 0
        data = [webhook_to_json(state, w) for w in matches[(page - 1) * per_page:page * per_page]]
    return paged(data, total, pages, page, "/wc/v3/webhooks")


@bp.post("/webhooks")
def create():
    require("create")
    body = json_body()
    state = get_state()
    with state.lock:
        webhook = create_webhook(state, body)
        data = webhook_to_json(state, webhook)
    return respond(data, 201, {"Location": f"{state.site_url}/wp-json/wc/v3/webhooks/{webhook.id}"})


@bp.get("/webhooks/<int:webhook_id>")
def get(webhook_id: int):
    require("read")
    state = get_state()
    with state.lock:
        webhook = state.webhooks.get(webhook_id)
        if webhook is None:
            raise _invalid_id(400)
        return respond(webhook_to_json(state, webhook))


@bp.route("/webhooks/<int:webhook_id>", methods=["PUT", "PATCH", "POST"])
def update(webhook_id: int):
    require("edit")
    body = json_body()
    state = get_state()
    with state.lock:
        webhook = state.webhooks.get(webhook_id)
        if webhook is None:
            raise _invalid_id(400)
        update_webhook(state, webhook, body)
        return respond(webhook_to_json(state, webhook))


@bp.delete("/webhooks/<int:webhook_id>")
def delete(webhook_id: int):
    require("delete")
    if not parse_bool("force", request.args.get("force", "false")):
        raise ApiError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
    state = get_state()
    with state.lock:
        webhook = state.webhooks.pop(webhook_id, None)
        if webhook is None:
            raise _invalid_id(404)
        return respond(webhook_to_json(state, webhook))
