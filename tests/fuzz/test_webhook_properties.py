"""Property-based tests (hypothesis) of the hostile input the issue names, on the fuzz world:
forged, replayed, oversized, deeply nested, wrongly typed and non-UTF-8 webhook deliveries;
deliveries of one order out of order; the install callback; arbitrary admin form fields with a
valid session, and forms without the CSRF token. Every test also runs under `no_secrets_logged`:
no secret in any log record at DEBUG."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from plugin.store import models
from tests.fuzz.conftest import SHOP_ORDER_ID

TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
PROPERTY = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

pytestmark = pytest.mark.usefixtures("no_secrets_logged")


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(world, body: bytes, *, topic: str | None = "order.updated", signature: str | None = None,
            delivery: str | None = "d-1", content_type: str | None = "application/json", sign_it=True,
            extra: dict | None = None):
    headers = {"X-WC-Webhook-Source": world.woo_url + "/", "X-WC-Webhook-ID": "1"}
    if topic is not None:
        headers.update({"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": topic.split(".")[0],
                        "X-WC-Webhook-Event": topic.split(".")[-1]})
    if delivery is not None:
        headers["X-WC-Webhook-Delivery-ID"] = delivery
    if signature is None and sign_it:
        signature = sign(body, world.webhook_secret)
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.update(extra or {})
    return world.client().post(f"/webhooks/woocommerce/{world.public_id}", data=body, headers=headers)


def deliveries(world) -> int:
    with world.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(models.WebhookDelivery))


def order_payload(status="processing", modified: datetime | None = None, tracking: str | None = None,
                  order_id: int = SHOP_ORDER_ID) -> dict:
    meta = [{"id": 1, "key": "_orderbridge_external_id", "value": "FUZZ-1"}]
    if tracking:
        meta.append({"id": 2, "key": "_wc_shipment_tracking_items",
                     "value": [{"tracking_provider": "PostNL", "tracking_number": tracking}]})
    modified = modified or datetime(2025, 1, 1, tzinfo=UTC)
    return {"id": order_id, "number": str(order_id), "status": status, "meta_data": meta,
            "date_modified_gmt": modified.strftime("%Y-%m-%dT%H:%M:%S")}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda s, t, i: json.dumps(order_payload(status=s, order_id=i, tracking=t)).encode(),
              st.sampled_from(["processing", "completed", "cancelled"]), st.none() | st.text(max_size=10),
              st.integers()),
)


# ------------------------------------------------------------------ forged and unsigned
@PROPERTY
@given(body=bodies, signature=st.one_of(st.none(), st.text(max_size=60), st.binary(min_size=32, max_size=32)
                                         .map(lambda b: base64.b64encode(b).decode())),
       topic=st.none() | st.sampled_from(TOPICS) | st.text(max_size=20),
       content_type=st.none() | st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_forged_or_unsigned_deliveries_change_nothing(world, body, signature, topic, content_type):
    assume(signature != sign(body, world.webhook_secret))
    assume(topic is None or topic.isprintable())
    before = world.snapshot()
    r = deliver(world, body, topic=topic, signature=signature, sign_it=False, content_type=content_type)
    if topic:
        assert r.status_code == 401, (r.status_code, r.get_data()[:200])
    else:   # no topic: the creation ping (200) or not a webhook (400); never stored
        assert r.status_code in (200, 400)
        assert r.status_code == 400 or r.get_json() == {"status": "pong"}
    assert r.get_json().get("reason") or r.status_code == 200
    assert world.snapshot() == before
    assert world.queue.pending == type(world.queue.pending)()


@PROPERTY
@given(body=bodies)
def test_a_signature_with_another_secret_is_refused(world, body):
    before = world.snapshot()
    r = deliver(world, body, signature=sign(body, world.webhook_secret + "x"))
    assert r.status_code == 401
    assert world.snapshot() == before


def test_unknown_and_hostile_shop_ids_are_404(world):
    body = b"{}"
    for public_id in ("nope", "a" * 5000, "%00", "x%00y", "..%2f..", "%C3%A9", "'%20OR%201=1--"):
        r = world.client().post(f"/webhooks/woocommerce/{public_id}", data=body,
                                headers={"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
                                         "X-WC-Webhook-Signature": sign(body, world.webhook_secret)})
        assert r.status_code == 404, public_id


# ------------------------------------------------------------------ replayed
@settings(PROPERTY, max_examples=15)
@given(status=st.sampled_from(["processing", "on-hold", "pending"]), times=st.integers(2, 4),
       delivery=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=40),
       minute=st.integers(0, 10**6))
def test_a_replayed_delivery_is_acknowledged_and_processed_once(world, status, times, delivery, minute):
    world.reset_order()
    body = json.dumps(order_payload(status, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minute))).encode()
    answers = [deliver(world, body, delivery=delivery) for _ in range(times)]
    assert [r.status_code for r in answers] == [200] * times
    assert [r.get_json()["status"] for r in answers] == ["accepted"] + ["duplicate"] * (times - 1)
    assert deliveries(world) == 1
    assert world.process_deliveries() == ["no change"]      # one job, however often it came
    assert world.process_deliveries() == []


# ------------------------------------------------------------------ oversized
@settings(PROPERTY, max_examples=4)
@given(extra=st.integers(1, 4096), signed=st.booleans())
def test_oversized_bodies_are_413(world, extra, signed):
    limit = world.ctx.settings.webhook_max_bytes
    body = b'{"pad": "' + b"x" * (limit + extra) + b'"}'
    before = world.snapshot()
    r = deliver(world, body, sign_it=signed)
    assert r.status_code == 413
    assert world.snapshot() == before


def test_a_body_larger_than_its_content_length_says_is_not_read_past_the_limit(world):
    limit = world.ctx.settings.webhook_max_bytes
    body = b"x" * (limit + 10)
    before = world.snapshot()
    # no Content-Length at all (a chunked request): the stream limit still stops it
    environ = {"wsgi.input_terminated": True}
    r = world.client().post(f"/webhooks/woocommerce/{world.public_id}", input_stream=__import__("io").BytesIO(body),
                            headers={"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
                                     "Transfer-Encoding": "chunked"}, environ_overrides=environ)
    assert r.status_code in (401, 413)
    assert world.snapshot() == before


# ------------------------------------------------------------------ deeply nested
@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested_json_is_a_4xx(world, depth, kind):
    body = (b"[" * depth + b"]" * depth) if kind == "array" else (b'{"a":' * depth + b"1" + b"}" * depth)
    before = world.snapshot()
    assert deliver(world, body).status_code == 400              # signed: parsed, refused
    assert deliver(world, body, sign_it=False).status_code == 401
    r = world.client().post("/install/callback", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert world.snapshot() == before


# ------------------------------------------------------------------ content type, encoding
@settings(PROPERTY, max_examples=25)
@given(content_type=st.one_of(
    st.none(),
    st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/xml", "application/json; charset=utf-16", "application/json; charset=latin-1",
                     "application/jsonx", "text/json"]),
    st.text(alphabet=string.ascii_letters + "/+-;= ", max_size=30)))
def test_a_signed_delivery_that_is_not_application_json_is_415(world, content_type):
    assume(content_type is None or content_type.split(";")[0].strip().lower() != "application/json"
           or "charset" in content_type.lower())
    body = json.dumps(order_payload()).encode()
    before = world.snapshot()
    r = deliver(world, body, content_type=content_type)
    assert r.status_code == 415, (content_type, r.status_code)
    assert world.snapshot() == before


@settings(PROPERTY, max_examples=30)
@given(body=st.binary(min_size=1, max_size=200))
def test_a_signed_body_that_is_not_utf8_is_400(world, body):
    try:
        body.decode("utf-8")
        assume(False)
    except UnicodeDecodeError:
        pass
    before = world.snapshot()
    r = deliver(world, body)
    assert r.status_code == 400
    assert world.snapshot() == before


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_in_another_unicode_encoding_is_400_not_500(world, encoding):
    """json.loads(bytes) reads UTF-16/32 and a BOM; the stored payload must be the UTF-8 text
    the worker parses, so these are refused before anything is stored."""
    body = json.dumps(order_payload()).encode(encoding)
    before = world.snapshot()
    r = deliver(world, body)
    assert r.status_code == 400, r.get_data()[:200]
    assert world.snapshot() == before


def test_control_characters_in_the_delivery_id_are_refused(world):
    body = json.dumps(order_payload()).encode()
    before = world.snapshot()
    assert deliver(world, body, delivery="abc\x01def").status_code == 400
    assert world.snapshot() == before


# ------------------------------------------------------------------ out of order
VIEWS = [("processing", None), ("completed", None), ("completed", "3STEST0001"), ("completed", "3STEST0002")]
EXPECTED = {0: ("not_shipped", None), 1: ("waiting", None), 2: ("shipped", "3STEST0001"),
            3: ("shipped", "3STEST0001")}   # once shipped with T&T, the shipment is what was sent


@settings(PROPERTY, max_examples=30)
@given(data=st.data(), newest=st.integers(0, 2), same_delivery_id=st.booleans())
def test_reordered_deliveries_end_in_the_newest_views_state(world, data, newest, same_delivery_id):
    world.reset_order()
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    history = [order_payload(status, start + timedelta(minutes=i), tracking) for i, (status, tracking)
               in enumerate(VIEWS[:newest + 1])]
    sent = data.draw(st.lists(st.sampled_from(range(len(history))), min_size=1, max_size=8)
                     .map(lambda xs: xs + [len(history) - 1]), label="indices")
    order = data.draw(st.permutations(sent), label="delivery order")
    for n, index in enumerate(order):
        body = json.dumps(history[index]).encode()
        r = deliver(world, body, delivery="same" if same_delivery_id else f"d-{n}")
        assert r.status_code == 200
        world.process_deliveries()
    with world.ctx.db.session() as s:
        row = s.get(models.Order, world.order_id)
        status, tracking = row.status, row.tracking_number
        shipments = s.scalar(select(func.count()).select_from(models.Shipment)
                             .where(models.Shipment.order_id == world.order_id))
    assert (status, tracking) == EXPECTED[newest]
    assert shipments == (1 if status == "shipped" else 0)


# ------------------------------------------------------------------ install callback
def _grant_token(world) -> str:
    """A real install grant for the sandbox shop, as the browser would start it."""
    from plugin.sync.install import start_grant
    from plugin.web import tokens
    nonce, _url = start_grant(world.ctx, "install", world.woo_url)
    return tokens.make(world.app.extensions["orderbridge_token_key"], nonce, "install")


callback_bodies = st.fixed_dictionaries({
    "key_id": st.one_of(st.integers(), st.integers(min_value=2**63), st.text(max_size=5), st.none()),
    "consumer_key": st.one_of(st.just("ck_" + "a" * 40), st.text(max_size=50)),
    "consumer_secret": st.one_of(st.just("cs_" + "b" * 40), st.text(max_size=50)),
    "key_permissions": st.sampled_from(["read_write", "read", "admin", ""]),
}, optional={"extra": json_values})


@settings(PROPERTY, max_examples=20)
@given(keys=callback_bodies)
def test_an_install_callback_with_keys_that_do_not_work_changes_no_shop(world, keys):
    token = _grant_token(world)
    shops = world.snapshot()["shops"]
    r = world.client().post("/install/callback", json={**keys, "user_id": token})
    assert r.status_code in (400, 401), r.get_data()[:300]
    assert r.get_json()["reason"]
    assert world.snapshot()["shops"] == shops


# ------------------------------------------------------------------ admin forms
# Each form with a valid filling; the fuzzer drops, replaces and adds fields from there, so it
# reaches both the saved (303) and the refused (4xx) side of every form.
VALID = {
    "/admin/settings/general": {"shop_poll_minutes": ["7"], "grace_hours": ["2"], "completed_statuses": ["completed"],
                                "new_order_status": ["processing"], "order_prefix": ["BOL-"]},
    "/admin/settings/sync": {"stock_match_by": ["ean"], "ean_meta_key": ["_ean"], "stock_reconcile_minutes": ["5"],
                             "marketplace_cancellations": ["on"], "cancel_reason_code": ["OUT_OF_STOCK"],
                             "returns_poll_minutes": ["60"], "returns_action": ["note"],
                             "return_handling_result": ["RETURN_RECEIVED"]},
    "/admin/settings/transporters": {"default": ["TNT"], "rule_pattern": ["^3S"], "rule_transporter": ["TNT"],
                                     "rule_strip": [""], "use_provider_names": ["on"]},
    "/admin/settings/transporters/try": {"try_code": ["3STEST123"], "try_provider": ["PostNL"], "default": ["TNT"]},
    "/admin/settings/keys/dismiss": {},
    "/admin/connections": {"marketplace": ["bol"], "name": ["Second seller"], "poll_minutes": ["5"], "enabled": ["on"],
                           "cred_client_id": ["second-seller"], "cred_client_secret": ["second-secret"],
                           "stock_buffer": ["0"]},
    "/admin/connections/{connection}": {"name": ["Fuzz seller"], "poll_minutes": ["5"], "enabled": ["on"],
                                        "cred_client_id": ["fuzz-seller"], "stock_buffer": ["2"]},
    "/admin/connections/{connection}/test": {},
    "/admin/connections/{connection}/enabled": {"enabled": ["on"]},
    "/admin/connections/{connection}/delete": {},
    "/admin/orders/{order}/resend": {},
    "/admin/orders/{order}/manual": {"reason": ["sent by hand"]},
    "/admin/stock/1/resend": {"tab": ["error"]},
    "/signin": {"store_url": ["{woo}"]},
    "/signout": {},
}
ADMIN_FORMS = list(VALID)
FIELDS = sorted({name for form in VALID.values() for name in form} | {"extra_completed_statuses", "test_mode",
                                                                      "stock_sync", "api_url", "token_url"})
field_values = st.one_of(
    st.text(max_size=30), st.sampled_from(["", "on", "0", "1", "-1", "5", "1e309", "nan", "inf", "9" * 30, "([",
                                           "completed", "processing", "TNT", "ean", "sku", "note", "refund",
                                           "OUT_OF_STOCK", "RETURN_RECEIVED", "bol", "\x00", "http://127.0.0.1:1/",
                                           "x" * 300]))


@st.composite
def admin_posts(draw):
    target = draw(st.sampled_from(ADMIN_FORMS))
    form = dict(VALID[target])
    for name in draw(st.sets(st.sampled_from(sorted(form) or ["-"]), max_size=2)):
        form.pop(name, None)
    form.update(draw(st.dictionaries(st.sampled_from(FIELDS), st.lists(field_values, min_size=1, max_size=3),
                                     max_size=3)))
    return target, form


def _path(world, template: str) -> str:
    return template.format(connection=world.connection_id, order=world.order_id)


@settings(PROPERTY, max_examples=200)
@given(post=admin_posts())
def test_admin_forms_with_a_session_never_5xx_and_refusals_change_nothing(world, post):
    target, form = post
    before = world.snapshot()
    data = [(k, v.replace("{woo}", world.woo_url)) for k, values in form.items() for v in values]
    data.append(("csrf_token", world.csrf))
    client = world.client(signed_in=True)
    r = client.post(_path(world, target), data=MultiDict(data))
    event(f"{target} -> {r.status_code}")
    assert r.status_code < 500, (target, form, r.get_data()[:300])
    if r.status_code >= 400:
        assert world.snapshot() == before, (target, form, r.status_code)
    world.queue.pending.clear()
    _keep_the_world_usable(world)


def _keep_the_world_usable(world) -> None:
    """A valid form may rename, disable or remove the world's connection, or hand its order over
    to the merchant: put them back, so every example starts from a usable world."""
    from sqlalchemy import update

    from plugin.sync.connect import add_connection
    from tests.fuzz.conftest import SELLER, _make_order
    with world.ctx.db.session() as s:
        conn = s.get(models.Connection, world.connection_id)
        order = s.get(models.Order, world.order_id)
    if conn is None:
        with world.ctx.db.session() as s:
            for other in s.scalars(select(models.Connection).where(models.Connection.shop_id == world.shop_id)):
                s.delete(other)
        world.connection_id = add_connection(world.ctx, world.shop_id, {
            "marketplace": "bol", "name": "Fuzz seller",
            "credentials": {"client_id": SELLER[0], "client_secret": SELLER[1]}})
        world.order_id = _make_order(world.ctx, world.shop_id, world.connection_id)
    elif order is None or order.status == "manual":
        world.reset_order()
    with world.ctx.db.session() as s:
        s.execute(update(models.Shop).where(models.Shop.id == world.shop_id).values(status="active"))


@pytest.mark.parametrize("target", [t for t in ADMIN_FORMS if t != "/signin"] + ["/admin/disconnect"])
@pytest.mark.parametrize("token", [None, "", "forged", "csrf-of-another-session"])
def test_forms_without_the_sessions_csrf_token_are_403_and_change_nothing(world, target, token):
    before = world.snapshot()
    data = {"name": "x", "enabled": "on", "reason": "r", "shop_poll_minutes": "5", "grace_hours": "1",
            "completed_statuses": "completed", "new_order_status": "processing"}
    if token is not None:
        data["csrf_token"] = token
    r = world.client(signed_in=True).post(_path(world, target), data=data)
    assert r.status_code == 403, (target, r.status_code)
    assert world.snapshot() == before


def test_disconnect_with_the_token_is_done_once(world):
    """Last in this module: ends the world's shop. Signed in with the token it is done, and a
    webhook for the disconnected shop is then 404 and stored nowhere."""
    r = world.client(signed_in=True).post("/admin/disconnect", data={"csrf_token": world.csrf})
    assert r.status_code == 303
    with world.ctx.db.session() as s:
        assert s.get(models.Shop, world.shop_id).status != "active"
    before = world.snapshot()
    body = json.dumps(order_payload()).encode()
    assert deliver(world, body).status_code == 404
    assert world.snapshot() == before


@pytest.mark.parametrize("target", ADMIN_FORMS)
def test_nul_and_control_characters_in_every_field_are_never_a_5xx(world, target):
    """PostgreSQL text cannot hold NUL: a field that reaches a column or a query with one must be
    refused as input (4xx), not fail in the driver (500)."""
    for poison in ("\x00", "a\x00b", "\x1b[31m", "\ud7ff\u2028"):
        for field in sorted(VALID[target]) or ["csrf_token_extra"]:
            form = {k: [v.replace("{woo}", world.woo_url) for v in vs] for k, vs in VALID[target].items()}
            form[field] = [poison]
            data = MultiDict([(k, v) for k, vs in form.items() for v in vs] + [("csrf_token", world.csrf)])
            before = world.snapshot()
            r = world.client(signed_in=True).post(_path(world, target), data=data)
            assert r.status_code < 500, (target, field, poison, r.get_data()[:300])
            if r.status_code >= 400:
                assert world.snapshot() == before
            world.queue.pending.clear()
            _keep_the_world_usable(world)


@pytest.mark.parametrize("path", ["/admin/orders", "/admin/orders/counts.json", "/admin/stock", "/admin/returns",
                                  "/install", "/install/return"])
def test_nul_in_query_strings_is_never_a_5xx(world, path):
    for name in ("q", "tab", "page", "store_url", "user_id", "success"):
        for poison in ("\x00", "a\x00b", "9" * 40, "-5"):
            r = world.client(signed_in=True).get(path, query_string={name: poison})
            assert r.status_code < 500, (path, name, poison, r.get_data()[:300])
