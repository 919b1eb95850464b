"""HTML forms <-> the settings the store keeps. Forms speak the merchant's units (minutes,
hours, one rule per row); marshmallow validates every field and the messages are shown next to
the field they belong to. Nothing is saved when anything is wrong."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from plugin.schemas import ShopSettingsSchema, TransportersSchema

WOO_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
NEW_ORDER_STATUSES = ("pending", "processing", "on-hold")
_STATUS_SLUG = re.compile(r"^[a-z0-9_-]{1,40}$")


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """{'rules.0.pattern': 'message', ...}: one message per field, for the template."""
    out: dict[str, str] = {}

    def walk(messages, path):
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
            out.setdefault(path or "_form", messages[0])
        elif isinstance(messages, list):
            for item in messages:
                walk(item, path)
        else:
            out.setdefault(path or "_form", str(messages))
    walk(exc.messages, prefix)
    return out


class _Form(Schema):
    class Meta:
        unknown = RAISE


class GeneralForm(_Form):
    shop_poll_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=1440))
    grace_hours = fields.Float(required=True, validate=validate.Range(min=0.01, max=14 * 24))
    completed_statuses = fields.List(fields.String(), required=True,
                                     validate=validate.Length(min=1, error="choose at least one status"))
    new_order_status = fields.String(required=True, validate=validate.OneOf(NEW_ORDER_STATUSES))
    order_prefix = fields.String(load_default="", validate=validate.Length(max=20))
    test_mode = fields.Boolean(load_default=False)
    stock_sync = fields.Boolean(load_default=False)

    @validates("completed_statuses")
    def _slugs(self, value, **_):
        bad = [v for v in value if not _STATUS_SLUG.match(v)]
        if bad:
            raise ValidationError(f"not a status slug: {', '.join(bad)} (lower case letters, digits, - and _)")


def general_from_form(form, current: dict) -> dict:
    """The shop's whole settings dict with the general form applied (raises ValidationError)."""
    statuses = [s for s in form.getlist("completed_statuses") if s]
    statuses += [s.strip() for s in form.get("extra_completed_statuses", "").split(",") if s.strip()]
    values = GeneralForm().load({
        "shop_poll_minutes": form.get("shop_poll_minutes", ""),
        "grace_hours": form.get("grace_hours", ""),
        "completed_statuses": list(dict.fromkeys(statuses)),
        "new_order_status": form.get("new_order_status", ""),
        "order_prefix": form.get("order_prefix", ""),
        "test_mode": form.get("test_mode") == "on",
        "stock_sync": form.get("stock_sync") == "on",
    })
    merged = dict(current)
    merged.update(
        shop_poll_seconds=values["shop_poll_minutes"] * 60,
        grace_seconds=max(1, round(values["grace_hours"] * 3600)),
        completed_statuses=values["completed_statuses"],
        new_order_status=values["new_order_status"],
        order_prefix=values["order_prefix"],
        test_mode=values["test_mode"],
        stock_sync=values["stock_sync"],
    )
    return ShopSettingsSchema().load(merged)


def transporters_from_form(form, known_codes: frozenset[str]) -> dict:
    """The transporter settings from the form's rows (empty rows are dropped)."""
    rows = zip(form.getlist("rule_pattern"), form.getlist("rule_transporter"), form.getlist("rule_strip"),
               strict=False)
    rules = [{"pattern": p.strip(), "transporter": t.strip(), "strip": s}
             for p, t, s in rows if p.strip() or t.strip() or s]
    data = {"default": form.get("default", "").strip() or None, "rules": rules,
            "use_provider_names": form.get("use_provider_names") == "on"}
    # Every problem at once: the schema's, and codes the marketplace does not know.
    errors: dict = {}
    try:
        values = TransportersSchema().load(data)
    except ValidationError as exc:
        errors, values = dict(exc.messages), None
    if data["default"] and data["default"] not in known_codes:
        errors.setdefault("default", [f"unknown transporter code {data['default']!r}"])
    for i, rule in enumerate(rules):
        if rule["transporter"] and rule["transporter"] not in known_codes:
            row = errors.setdefault("rules", {}).setdefault(i, {})
            row.setdefault("transporter", [f"unknown transporter code {rule['transporter']!r}"])
    if errors:
        raise ValidationError(errors)
    return values


class SyncForm(_Form):
    """Stock, cancellations and returns."""
    stock_match_by = fields.String(required=True, validate=validate.OneOf(["ean", "sku"]))
    ean_meta_key = fields.String(load_default="", validate=[validate.Length(max=100),
                                                            validate.Regexp(r"^[A-Za-z0-9_\-]*$",
                                                                            error="letters, digits, _ and - only")])
    stock_reconcile_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=1440))
    marketplace_cancellations = fields.Boolean(load_default=False)
    cancel_reason_code = fields.String(required=True)
    returns_poll_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=7 * 1440))
    returns_action = fields.String(required=True, validate=validate.OneOf(["note", "refund"]))
    return_handling_result = fields.String(required=True)


def sync_from_form(form, current: dict, reason_codes: tuple[str, ...], handling_results: tuple[str, ...]) -> dict:
    errors: dict = {}
    try:
        values = SyncForm().load({
            "stock_match_by": form.get("stock_match_by", ""), "ean_meta_key": form.get("ean_meta_key", "").strip(),
            "stock_reconcile_minutes": form.get("stock_reconcile_minutes", ""),
            "marketplace_cancellations": form.get("marketplace_cancellations") == "on",
            "cancel_reason_code": form.get("cancel_reason_code", ""),
            "returns_poll_minutes": form.get("returns_poll_minutes", ""),
            "returns_action": form.get("returns_action", ""),
            "return_handling_result": form.get("return_handling_result", ""),
        })
    except ValidationError as exc:
        errors, values = dict(exc.messages), None
    if form.get("cancel_reason_code") not in reason_codes:
        errors.setdefault("cancel_reason_code", ["choose one of the marketplace's reason codes"])
    if form.get("return_handling_result") not in handling_results:
        errors.setdefault("return_handling_result", ["choose one of the marketplace's handling results"])
    if errors:
        raise ValidationError(errors)
    merged = dict(current)
    merged.update(
        stock_match_by=values["stock_match_by"], ean_meta_key=values["ean_meta_key"],
        stock_reconcile_seconds=values["stock_reconcile_minutes"] * 60,
        marketplace_cancellations=values["marketplace_cancellations"],
        cancel_reason_code=values["cancel_reason_code"],
        returns_poll_seconds=values["returns_poll_minutes"] * 60,
        returns_action=values["returns_action"], return_handling_result=values["return_handling_result"],
    )
    return ShopSettingsSchema().load(merged)


def sync_view(settings: dict) -> dict:
    s = ShopSettingsSchema().load({k: v for k, v in settings.items() if k in ShopSettingsSchema().fields})
    return {
        "stock_match_by": s["stock_match_by"], "ean_meta_key": s["ean_meta_key"],
        "stock_reconcile_minutes": s["stock_reconcile_seconds"] // 60,
        "marketplace_cancellations": s["marketplace_cancellations"], "cancel_reason_code": s["cancel_reason_code"],
        "returns_poll_minutes": s["returns_poll_seconds"] // 60, "returns_action": s["returns_action"],
        "return_handling_result": s["return_handling_result"],
    }


def general_view(settings: dict) -> dict:
    """The stored settings in the form's units."""
    return {
        "shop_poll_minutes": int(settings.get("shop_poll_seconds", 300)) // 60 or 1,
        "grace_hours": f"{int(settings.get('grace_seconds', 3 * 3600)) / 3600:.4g}",
        "completed_statuses": settings.get("completed_statuses", ["completed"]),
        "new_order_status": settings.get("new_order_status", "processing"),
        "order_prefix": settings.get("order_prefix", ""),
        "test_mode": settings.get("test_mode", False),
        "stock_sync": settings.get("stock_sync", False),
    }


class ConnectionForm(_Form):
    """The connection's own fields; its credentials are checked by the adapter's schema. API URL
    overrides exist for the sandboxes only: in production they would let a form point our
    credentials and requests anywhere."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    poll_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=1440))
    enabled = fields.Boolean(load_default=True)
    api_url = fields.String(load_default="", validate=validate.Length(max=300))
    token_url = fields.String(load_default="", validate=validate.Length(max=300))
    # Units held back from the marketplace (sent = shop stock - reserved - buffer, never < 0).
    stock_buffer = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))

    def __init__(self, *, dev_mode: bool, **kwargs):
        super().__init__(**kwargs)
        self.dev_mode = dev_mode

    @validates("api_url")
    def _api_url(self, value, **_):
        self._override(value)

    @validates("token_url")
    def _token_url(self, value, **_):
        self._override(value)

    def _override(self, value: str) -> None:
        if not value:
            return
        if not self.dev_mode:
            raise ValidationError("API URL overrides are only for the sandbox (dev mode)")
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValidationError("must be an http(s) URL")
