"""marshmallow schemas for every payload that comes in from a person (CLI, forms)."""

from __future__ import annotations

from urllib.parse import urlparse

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from plugin.domain import TransporterRule


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _http_url(value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError("must be an http(s) URL, e.g. https://shop.example.com")


class TransporterRuleSchema(_Strict):
    pattern = fields.String(required=True, validate=validate.Length(min=1, max=200))
    transporter = fields.String(required=True, validate=validate.Length(min=1, max=40))
    strip = fields.String(load_default="", validate=validate.Length(max=100))

    @validates("pattern")
    def _valid_regex(self, value: str, **_):
        try:
            TransporterRule(value, "X")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class TransportersSchema(_Strict):
    default = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    rules = fields.List(fields.Nested(TransporterRuleSchema), load_default=list)
    use_provider_names = fields.Boolean(load_default=True)


class ShopSettingsSchema(_Strict):
    grace_seconds = fields.Integer(load_default=3 * 3600, validate=validate.Range(min=1, max=14 * 86400))
    shop_poll_seconds = fields.Integer(load_default=300, validate=validate.Range(min=10, max=86400))
    completed_statuses = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                                     load_default=lambda: ["completed"], validate=validate.Length(min=1))
    new_order_status = fields.String(load_default="processing",
                                     validate=validate.OneOf(["pending", "processing", "on-hold"]))
    order_prefix = fields.String(load_default="", validate=validate.Length(max=20))
    http_timeout_seconds = fields.Float(load_default=15.0, validate=validate.Range(min=0.5, max=60))
    tracking_meta_keys = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    transporters = fields.Nested(TransportersSchema, load_default=lambda: TransportersSchema().load({}))
    test_mode = fields.Boolean(load_default=False)
    # Stock sync (shop -> marketplace): products match offers by SKU (= the offer's reference)
    # or by EAN (WooCommerce's GTIN field `global_unique_id`, or this meta key when set).
    stock_sync = fields.Boolean(load_default=False)
    stock_match_by = fields.String(load_default="ean", validate=validate.OneOf(["ean", "sku"]))
    ean_meta_key = fields.String(load_default="", validate=validate.Length(max=100))
    stock_reconcile_seconds = fields.Integer(load_default=300, validate=validate.Range(min=60, max=86400))
    # Cancellations: the buyer's requests on the marketplace are applied in the shop (on/off);
    # a cancellation made in the shop is sent to the marketplace with this reason code.
    marketplace_cancellations = fields.Boolean(load_default=True)
    cancel_reason_code = fields.String(load_default="OUT_OF_STOCK", validate=validate.Length(min=1, max=40))
    # Returns: polled this often; recorded in the shop as a note, or as a refund record (no money
    # moves: api_refund off); a refund the merchant creates in the shop handles the return on the
    # marketplace with this result.
    returns_poll_seconds = fields.Integer(load_default=3600, validate=validate.Range(min=60, max=7 * 86400))
    returns_action = fields.String(load_default="note", validate=validate.OneOf(["note", "refund"]))
    return_handling_result = fields.String(load_default="RETURN_RECEIVED", validate=validate.Length(min=1, max=60))


class ShopSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = fields.String(required=True, validate=[validate.Length(max=500), _http_url])
    consumer_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    consumer_secret = fields.String(required=True, validate=validate.Length(min=1, max=200))
    settings = fields.Nested(ShopSettingsSchema, load_default=lambda: ShopSettingsSchema().load({}))


class ConnectionSchema(_Strict):
    marketplace = fields.String(required=True, validate=validate.OneOf(["bol"]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    credentials = fields.Dict(required=True)
    poll_seconds = fields.Integer(load_default=300, validate=validate.Range(min=10, max=86400))
    api_url = fields.String(load_default=None, allow_none=True, validate=_http_url)
    token_url = fields.String(load_default=None, allow_none=True, validate=_http_url)


def first_error(err: ValidationError) -> str:
    """One line for the CLI: 'field: message'."""
    def walk(messages, path=""):
        if isinstance(messages, dict):
            for key, value in messages.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(messages, list) and messages and not isinstance(messages[0], str | dict | list):
            yield path, str(messages[0])
        elif isinstance(messages, list):
            for item in messages:
                yield from walk(item, path)
        else:
            yield path, str(messages)
    for path, message in walk(err.messages):
        return f"{path}: {message}" if path else message
    return "invalid input"
