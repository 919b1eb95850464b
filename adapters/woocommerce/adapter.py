"""WooCommerceShop: the ShopPort over the WooCommerce REST API v3.

Reads (GETs) are retried here on RetryableError (adapters.http.with_retries, honouring
Retry-After). Writes are sent once: a create that times out or answers 5xx raises Transient and
the sync layer looks the order up with find_order_by_ref before trying again.

Cancellations, notes and refunds, and what happens on errors and lost answers:
- cancel_order: reads the order; unless it is already cancelled, PUT status "cancelled"
  (WooCommerce's wc_maybe_increase_stock_levels gives back what the order's lines still hold in
  `_reduced_stock`), then makes sure the note is there. Setting a status twice is harmless, so a
  Transient here is simply retried by calling cancel_order again.
- remove_lines: WooCommerce has no "remove a line and give its stock back" call. PUT line_items
  quantity 0 drops the line but keeps its stock taken (remove_item() only), so a partial
  cancellation is a refund of those lines for 0.00 with api_restock true and api_refund false
  (wc_create_refund + wc_restock_refunded_items): one request, stock back atomically, no money
  moved, the lines stay visible as refunded. It reads the order's refunds first and refunds only
  the quantity not refunded yet, so a redelivery (or a retry after a lost answer that did
  commit) refunds nothing twice. The refund POST is sent once: Transient/TimedOut when its
  outcome is unknown (the caller retries remove_lines, after the shop's in-flight window for a
  TimedOut), Rejected when WooCommerce refused it.
- Notes written by cancel_order/remove_lines are "ensured": an internal note with exactly that
  text is looked for first, so a retry adds none twice. add_note itself always adds.
- create_refund sends api_refund false always (no money moves without the merchant) and
  api_restock as asked (default False: a return is a record; WooCommerce would restock by
  default). Not idempotent: after a Transient, look it up with list_refunds (e.g. by reason).
- A 500 whose WP_Error code is woocommerce_rest_cannot_create_order_refund is wc_create_refund()
  refusing ("Invalid refund amount.", a gateway error): nothing was stored, so it is Rejected,
  not Transient. A PHP fatal error page stays Transient.

Products: get_product reads /products/<id> (variations too). products_modified_after
and all_products read /products and the variations: from /variations on WooCommerce 10.3+,
else /products/<id>/variations of every variable product. Variable products themselves are not
returned (they are not sold; their variations are). A variable product whose own stock changed
also brings its variations that share that stock ("manage_stock": "parent").

find_products finds an order line's product before the order is created: by SKU in one GET
/products?sku=a,b (variations included), by EAN by reading the catalogue until all are found
(no REST argument filters on the GTIN or a meta key, in 7.8 or 9.9).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.errors import AdapterError, AuthError, NotFound, Rejected, Transient
from adapters.http import with_retries
from plugin.sync.ports import (
    RefundLine,
    ShopCapabilities,
    ShopOrder,
    ShopOrderDraft,
    ShopOrderLine,
    ShopProduct,
    ShopRefund,
)

from .client import WooClient, WooResponse
from .mapping import (
    CREATED_VIA,
    REF_KEY,
    UnexpectedPayload,
    draft_to_wc,
    format_wc_datetime,
    is_variable,
    meta_value,
    note_to_wc,
    refund_to_wc,
    refunded_quantities,
    removal_to_wc,
    wc_to_shop_order,
    wc_to_shop_order_lines,
    wc_to_shop_product,
    wc_to_shop_refund,
)

PER_PAGE = 100                      # the REST API's maximum
SKU_CHUNK = 50                      # SKUs per GET /products?sku= (a short query string)
REF_LOOKBACK = timedelta(minutes=1)  # shop clock vs. ours when searching by creation date
# GET /orders?created_via= (9.9+): ours, and what older releases recorded for every REST create
OUR_CREATED_VIA = f"{CREATED_VIA},rest-api"
CREATED_VIA_FILTER_SINCE = (9, 9)   # woocommerce#57052 and #57225, released in 9.9.0
REFUND_MARKER_KEY = "_orderbridge_return"   # refund meta: the return a refund record of ours is for
REFUND_REFUSED = "woocommerce_rest_cannot_create_order_refund"   # wc_create_refund() said no
NOT_CANCELLABLE = ("cancelled", "trash")                         # no lines to take out any more


class WooCommerceShop:
    name = "woocommerce"

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *,
                 tracking_meta_keys: Iterable[str] = (), timeout: float = 10, verify_ssl: bool = True,
                 read_attempts: int = 3, query_string_auth: bool = False, client: WooClient | None = None,
                 allow_private_hosts: bool = False, ean_meta_key: str = "", wc_version: str | None = None):
        """`query_string_auth` sends the keys as query params over https, for hosts whose server
        drops the Authorization header; over http the client always signs with OAuth 1.0a.
        `allow_private_hosts` lets the shop URL point at loopback/private addresses (dev and
        sandboxes only); otherwise every call refuses them with UnsafeURL (adapters.netguard).
        `ean_meta_key`: product meta holding the EAN (a GTIN plugin's field); empty means
        WooCommerce's own `global_unique_id`, which is also the fallback. `wc_version`: the
        shop's WooCommerce release as it said at install (None: not known), for arguments only
        newer releases declare."""
        self.url = url.rstrip("/")
        self.filters_created_via = version_at_least(wc_version, CREATED_VIA_FILTER_SINCE)
        self.tracking_meta_keys = tuple(tracking_meta_keys)
        self.ean_meta_key = (ean_meta_key or "").strip()
        self.read_attempts = max(1, read_attempts)
        self._global_variations: bool | None = None   # GET /variations exists (WooCommerce 10.3+)
        self._client = client or WooClient(self.url, consumer_key, consumer_secret,
                                           timeout=timeout, verify_ssl=verify_ssl,
                                           query_string_auth=query_string_auth,
                                           allow_private_hosts=allow_private_hosts)

    def __repr__(self) -> str:
        return f"WooCommerceShop(url={self.url!r})"

    # ------------------------------------------------------------------ orders
    def create_order(self, draft: ShopOrderDraft) -> ShopOrder:
        """POST /orders once. Timeout, connection loss or 5xx -> Transient: the order may exist."""
        response = self._client.post("orders", draft_to_wc(draft))
        return self._order(response.data, "POST orders")

    def find_order_by_ref(self, ref: str, created_after: datetime) -> ShopOrder | None:
        """The order we created with this ref, if any. REST v3 cannot filter on meta, so page
        through orders created since `created_after` (minus a minute of clock skew), oldest id
        first, and compare `_orderbridge_ref` here. Trashed orders are looked at too (second
        pass): a trashed order still means "already created, do not create again".

        From WooCommerce 9.9 the shop stores the `created_via` we send and GET /orders filters
        on it, so the shop's own checkout orders (most of a busy shop's) are not paged through;
        "rest-api" stays in the filter for an order created before an upgrade, which recorded
        that whatever we sent. Older releases do not declare the argument: it is sent only to a
        shop known to be 9.9 or later, and the ref decides either way."""
        base = {"after": format_wc_datetime(created_after - REF_LOOKBACK), "dates_are_gmt": "true",
                "orderby": "id", "order": "asc"}
        if self.filters_created_via:
            base["created_via"] = OUR_CREATED_VIA
        for extra in ({}, {"status": "trash"}):
            for raw in self._pages("orders", {**base, **extra}):
                if meta_value(raw, REF_KEY) == ref:
                    return self._order(raw, "GET orders")
        return None

    def get_order(self, order_id: int) -> ShopOrder:
        response = self._read(lambda: self._client.get(f"orders/{int(order_id)}"))
        return self._order(response.data, f"GET orders/{order_id}")

    def orders_modified_after(self, since: datetime) -> Iterator[ShopOrder]:
        """Every order modified at or after `since` (all pages, by ascending id so a change
        during paging cannot shift later pages). WooCommerce keeps whole seconds and compares
        `modified_after` exclusively, so the query starts a second early; callers get an
        occasional repeat, never a gap."""
        params = {"modified_after": format_wc_datetime(since.replace(microsecond=0) - timedelta(seconds=1)),
                  "dates_are_gmt": "true", "orderby": "id", "order": "asc"}
        for raw in self._pages("orders", params):
            yield self._order(raw, "GET orders")

    # ------------------------------------------------------------------ lines, cancellations, notes
    def order_lines(self, order_id: int) -> list[ShopOrderLine]:
        return self._lines(self._order_data(order_id), f"GET orders/{order_id}")

    def cancel_order(self, order_id: int, note: str) -> ShopOrder:
        """Status cancelled (stock back, by WooCommerce) and the note, once each. An order that
        is already cancelled is returned as it is (its note is added if it is missing)."""
        order = self.get_order(order_id)
        if order.status != "cancelled":
            response = self._client.put(f"orders/{int(order_id)}", {"status": "cancelled"})
            order = self._order(response.data, f"PUT orders/{order_id}")
        self._ensure_note(order_id, note)
        return order

    def remove_lines(self, order_id: int, external_line_ids: tuple[str, ...], note: str) -> ShopOrder:
        """Take these marketplace lines out of the order with their stock: a 0.00 refund of the
        quantity not refunded yet, restocked, then the note. Lines already refunded, unknown
        line ids and cancelled orders are skipped, so calling it again changes nothing."""
        data = self._order_data(order_id)
        order = self._order(data, f"GET orders/{order_id}")
        wanted = set(external_line_ids)
        lines = [line for line in self._lines(data, f"GET orders/{order_id}") if line.external_line_id in wanted]
        if lines and order.status not in NOT_CANCELLABLE:
            refunded = refunded_quantities(self.list_refunds(order_id))
            todo = {line.id: line.quantity - refunded.get(line.id, 0) for line in lines
                    if line.quantity - refunded.get(line.id, 0) > 0}
            if todo:
                self._post_refund(order_id, removal_to_wc(todo, note))
                order = self.get_order(order_id)
        self._ensure_note(order_id, note)
        return order

    def add_note(self, order_id: int, note: str) -> int:
        """A private (non-customer) note. Sent once: Transient when the outcome is unknown."""
        response = self._client.post(f"orders/{int(order_id)}/notes", note_to_wc(note))
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise Transient(f"WooCommerce POST orders/{order_id}/notes: answer without an id")
        return data["id"]

    def list_notes(self, order_id: int) -> list[dict]:
        """The order's private notes, newest first ({id, note, ...} as GET /orders/<id>/notes
        answers them: one list, WooCommerce does not page notes)."""
        existing = self._read(lambda: self._client.get(f"orders/{int(order_id)}/notes", {"type": "internal"}))
        return [e for e in (existing.data if isinstance(existing.data, list) else ()) if isinstance(e, dict)]

    def find_note(self, order_id: int, marker: str) -> int | None:
        """The id of the private note whose text contains `marker` (looked up after a lost answer)."""
        for entry in self.list_notes(order_id):
            if marker and marker in str(entry.get("note", "")) and isinstance(entry.get("id"), int):
                return entry["id"]
        return None

    def _ensure_note(self, order_id: int, note: str) -> int | None:
        if not note:
            return None
        for entry in self.list_notes(order_id):
            if str(entry.get("note", "")).strip() == note.strip():
                return entry.get("id")
        return self.add_note(order_id, note)

    # ------------------------------------------------------------------ refunds
    def create_refund(self, order_id: int, lines: tuple[RefundLine, ...], amount: Decimal, reason: str, *,
                      restock: bool = False, marker: str | None = None) -> ShopRefund:
        """A refund record (api_refund false). Not idempotent: after a Transient, find it with
        list_refunds before sending again. Rejected when WooCommerce refuses it (e.g. more than
        the order has left to refund)."""
        body = refund_to_wc(lines, amount, reason, restock=restock)
        if marker:   # refunds keep meta_data (WC_REST_Order_Refunds_Controller, v3): our marker goes there
            body["meta_data"] = [*body.get("meta_data", []), {"key": REFUND_MARKER_KEY, "value": marker}]
        return self._post_refund(order_id, body)

    def list_refunds(self, order_id: int) -> list[ShopRefund]:
        """Every refund of the order, oldest first."""
        return [self._refund(raw, f"GET orders/{order_id}/refunds")
                for raw in self._pages(f"orders/{int(order_id)}/refunds", {"orderby": "id", "order": "asc"})]

    def _post_refund(self, order_id: int, body: dict) -> ShopRefund:
        what = f"POST orders/{order_id}/refunds"
        try:
            response = self._client.post(f"orders/{int(order_id)}/refunds", body)
        except AdapterError as exc:
            if exc.status == 500 and getattr(exc, "wc_code", None) == REFUND_REFUSED:
                raise Rejected(str(exc), status=500) from None
            raise
        return self._refund(response.data, what)

    # ------------------------------------------------------------------ products
    def get_product(self, product_id: int) -> ShopProduct:
        response = self._read(lambda: self._client.get(f"products/{int(product_id)}"))
        return self._product(response.data, f"GET products/{product_id}")

    def find_products(self, *, eans: tuple[str, ...] = (), skus: tuple[str, ...] = ()) -> list[ShopProduct]:
        """The products and variations (any stock setting) of these SKUs and these EANs.

        SKUs: GET /products?sku=a,b,c (comma-separated, both 7.8 and 9.9 take a list), SKU_CHUNK
        at a time; with `sku` WooCommerce searches variations too. EANs: no GET /products
        argument filters on `global_unique_id` or on a meta key (neither capture has one), so
        the products are read page by page, then the variations (one listing on 10.3+, else per
        variable product), until every EAN is found."""
        found: dict[int, ShopProduct] = {}
        wanted_skus = list(dict.fromkeys(s.strip() for s in skus if s and s.strip()))
        for i in range(0, len(wanted_skus), SKU_CHUNK):
            chunk = wanted_skus[i:i + SKU_CHUNK]
            for raw in self._pages("products", {"sku": ",".join(chunk), "orderby": "id", "order": "asc"}):
                product = self._product(raw, "GET products")
                if product.sku in chunk and not is_variable(raw):
                    found.setdefault(product.id, product)
        wanted_eans = {e.strip() for e in eans if e and e.strip()}
        if wanted_eans:
            found.update({p.id: p for p in self._products_of_eans(wanted_eans)})
        return list(found.values())

    def _products_of_eans(self, eans: set[str]) -> Iterator[ShopProduct]:
        missing = set(eans)
        for product in self._products_then_variations():
            if product.ean in missing:
                missing.discard(product.ean)
                yield product
            if not missing:
                return   # no page more than the EANs need

    def _products_then_variations(self) -> Iterator[ShopProduct]:
        """Every simple product, then the variations of the variable ones seen on the way (read
        only once the products are done, and only if there are any)."""
        variable: list[int] = []
        for raw in self._pages("products", {"orderby": "id", "order": "asc"}):
            if is_variable(raw):
                variable.append(int(raw["id"]))
            else:
                yield self._product(raw, "GET products")
        if variable:
            for raw in self._variations({"orderby": "id", "order": "asc"}, parents=variable):
                yield self._product(raw, "GET variations")

    def products_modified_after(self, since: datetime) -> Iterator[ShopProduct]:
        """Every product and variation modified at or after `since` (a second early, as for
        orders: WooCommerce keeps whole seconds and `modified_after` is exclusive)."""
        window = {"modified_after": format_wc_datetime(since.replace(microsecond=0) - timedelta(seconds=1)),
                  "dates_are_gmt": "true", "orderby": "id", "order": "asc"}
        seen: set[int] = set()
        for raw in self._pages("products", window):
            if is_variable(raw):
                if raw.get("manage_stock") is True:
                    # Stock kept on the variable product moved: so did every variation sharing it.
                    for variation in self._pages(f"products/{int(raw['id'])}/variations",
                                                 {"orderby": "id", "order": "asc"}):
                        if variation.get("manage_stock") == "parent" and variation.get("id") not in seen:
                            seen.add(variation["id"])
                            yield self._product(variation, "GET variations")
                continue
            seen.add(raw.get("id"))
            yield self._product(raw, "GET products")
        for variation in self._variations(window):
            if variation.get("id") not in seen:
                seen.add(variation.get("id"))
                yield self._product(variation, "GET variations")

    def all_products(self) -> Iterator[ShopProduct]:
        """Every product and variation whose stock the shop manages (for the reconcile)."""
        everything = {"orderby": "id", "order": "asc"}
        variable: list[int] = []
        for raw in self._pages("products", everything):
            if is_variable(raw):
                variable.append(int(raw["id"]))
            elif raw.get("manage_stock") is True:
                yield self._product(raw, "GET products")
        for variation in self._variations(everything, parents=variable):
            if variation.get("manage_stock") in (True, "parent"):
                yield self._product(variation, "GET variations")

    def _variations(self, params: dict, parents: list[int] | None = None) -> Iterator[dict]:
        """Variations matching `params`: one listing on WooCommerce 10.3+, else per parent."""
        if self._has_global_variations():
            yield from self._pages("variations", params)
            return
        if parents is None:
            parents = [int(p["id"]) for p in self._pages("products", {"type": "variable", "orderby": "id",
                                                                       "order": "asc", "_fields": "id"})]
        for parent_id in parents:
            yield from self._pages(f"products/{parent_id}/variations", params)

    def _has_global_variations(self) -> bool:
        if self._global_variations is None:
            try:
                self._read(lambda: self._client.get("variations", {"per_page": 1, "_fields": "id"}))
            except NotFound as exc:
                if getattr(exc, "wc_code", None) != "rest_no_route":
                    raise
                self._global_variations = False
            else:
                self._global_variations = True
        return self._global_variations

    # ------------------------------------------------------------------ webhooks
    def ensure_webhooks(self, delivery_url: str, secret: str, topics: tuple[str, ...], *,
                        fresh: bool = False) -> list[int]:
        """One active webhook per topic to `delivery_url`: keep an active one, else create one and
        delete the paused or disabled ones it replaces. `fresh`: replace even an active one.
        Returns the ids in `topics` order.

        Never re-activated: WooCommerce keeps a webhook's failure count across PUT status=active
        (only a successful delivery resets it) and disables it at the first failure while the
        count is above 5, so a re-activated webhook would be one failure from disabled again. A
        new one starts at 0. It is created before the old one is deleted, so the topic is never
        left without a webhook (a delivery may then arrive twice, which the receiver dedupes)."""
        existing = self._webhooks_to(delivery_url)
        ids: list[int] = []
        for topic in topics:
            same = sorted((w for w in existing if w.get("topic") == topic), key=lambda w: w["id"])
            active = [w for w in same if w.get("status") == "active"]
            if active and not fresh:
                ids.append(active[0]["id"])
                continue
            created = self._client.post("webhooks", {
                "name": f"orderbridge {topic}", "topic": topic, "delivery_url": delivery_url,
                "secret": secret, "status": "active"})
            ids.append(self._id(created, "POST webhooks"))
            for old in same:
                self._delete_webhook(old["id"])
        return ids

    def webhooks_for(self, delivery_url: str) -> list[dict]:
        """{id, topic, status} of every webhook (any status) delivering to `delivery_url`, by id:
        read back after ensure_webhooks to confirm what the shop really has."""
        return [{"id": w.get("id"), "topic": w.get("topic"), "status": w.get("status")}
                for w in sorted(self._webhooks_to(delivery_url), key=lambda w: w.get("id") or 0)]

    def remove_webhooks(self, delivery_url: str) -> int:
        """Delete every webhook delivering to `delivery_url` (force=true: webhooks cannot be
        trashed). Returns how many were deleted; one already gone (404) is not counted."""
        return sum(self._delete_webhook(webhook["id"]) for webhook in self._webhooks_to(delivery_url))

    def _delete_webhook(self, webhook_id) -> bool:
        """DELETE with force=true (webhooks cannot be trashed); False if it was already gone."""
        try:
            self._client.delete(f"webhooks/{int(webhook_id)}", {"force": True})
        except NotFound:
            return False
        return True

    def check(self) -> None:
        """Cheap authenticated read; AuthError on bad or revoked keys."""
        self._read(lambda: self._client.get("orders", {"per_page": 1, "_fields": "id"}))

    # ------------------------------------------------------------------ what the shop has
    def shop_capabilities(self) -> ShopCapabilities:
        """Whether products have WooCommerce's GTIN field, and the WooCommerce version.

        The GTIN field (`global_unique_id`, WooCommerce 9.2+) is read from the products route's
        own schema (OPTIONS /products, which WordPress answers without a permission check): it
        says "the field exists" directly, also on a shop whose version string is odd or hidden.
        The version (shown in the settings, and given back as `wc_version`) is system_status'
        environment.version; `_fields` keeps the answer to that section (the shop may still
        compute the whole environment, with its remote checks, so this is not called often).
        Either read failing leaves its part None. AuthError (dead keys: WordPress authenticates
        before it answers OPTIONS) is raised from the schema read only: system_status also needs
        manage_woocommerce, which a working key's user may lack (403)."""
        has_gtin = version = None
        try:
            described = self._read(lambda: self._client.request("OPTIONS", "products"))
            schema = described.data.get("schema") if isinstance(described.data, dict) else None
            properties = schema.get("properties") if isinstance(schema, dict) else None
            if isinstance(properties, dict) and properties:
                has_gtin = "global_unique_id" in properties
        except AuthError:
            raise
        except AdapterError:
            pass
        try:
            status = self._read(lambda: self._client.get("system_status", {"_fields": "environment.version"}))
            env = status.data.get("environment") if isinstance(status.data, dict) else None
            found = env.get("version") if isinstance(env, dict) else None
            version = found.strip() or None if isinstance(found, str) else None
        except AdapterError:      # AuthError too: a key without manage_woocommerce (see above)
            pass
        if has_gtin is None and version:
            has_gtin = _version_tuple(version) >= (9, 2)     # no schema: the release that brought it
        return ShopCapabilities(version=version, has_gtin=has_gtin)

    # ------------------------------------------------------------------ plumbing
    def _read(self, call: Callable[[], WooResponse]) -> WooResponse:
        return with_retries(call, attempts=self.read_attempts)

    def _webhooks_to(self, delivery_url: str) -> list[dict]:
        """All webhooks, any status, whose delivery URL is `delivery_url` (trailing "/" ignored)."""
        target = delivery_url.rstrip("/")
        return [w for w in self._pages("webhooks", {"status": "all", "orderby": "id", "order": "asc"})
                if str(w.get("delivery_url", "")).rstrip("/") == target]

    def _pages(self, endpoint: str, params: dict) -> Iterator[dict]:
        page = 1
        while True:
            query = {**params, "per_page": PER_PAGE, "page": page}
            response = self._read(lambda q=query: self._client.get(endpoint, q))
            if not isinstance(response.data, list):
                raise Transient(f"WooCommerce GET {endpoint}: expected a list, got {type(response.data).__name__}")
            yield from response.data
            try:
                total_pages = int(response.header("X-WP-TotalPages", "0"))
            except ValueError:
                total_pages = 0
            if not response.data or page >= total_pages:
                return
            page += 1

    def _order_data(self, order_id: int) -> dict:
        response = self._read(lambda: self._client.get(f"orders/{int(order_id)}"))
        return response.data

    def _lines(self, data, what: str) -> list[ShopOrderLine]:
        try:
            return wc_to_shop_order_lines(data)
        except UnexpectedPayload as exc:
            raise Transient(f"WooCommerce {what}: {exc}") from None

    def _refund(self, data, what: str) -> ShopRefund:
        try:
            refund = wc_to_shop_refund(data)
            marker = meta_value(data, REFUND_MARKER_KEY)
            return dataclasses.replace(refund, marker=str(marker)) if marker else refund
        except UnexpectedPayload as exc:
            raise Transient(f"WooCommerce {what}: {exc}") from None

    def _product(self, data, what: str) -> ShopProduct:
        try:
            return wc_to_shop_product(data, self.ean_meta_key)
        except UnexpectedPayload as exc:
            raise Transient(f"WooCommerce {what}: {exc}") from None

    def _order(self, data, what: str) -> ShopOrder:
        try:
            return wc_to_shop_order(data, self.tracking_meta_keys)
        except UnexpectedPayload as exc:
            raise Transient(f"WooCommerce {what}: {exc}") from None

    @staticmethod
    def _id(response: WooResponse, what: str) -> int:
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise AdapterError(f"WooCommerce {what}: answer without an id")
        return data["id"]


def _version_tuple(version: str) -> tuple[int, ...]:
    """"9.2.0-beta.1" -> (9, 2, 0): version_compare() for plain dotted releases."""
    parts = []
    for part in version.split("-")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def version_at_least(version: str | None, wanted: tuple[int, ...]) -> bool:
    """"9.9.5" >= (9, 9); an unknown or unreadable version is not."""
    parts = _version_tuple(version or "")
    return bool(parts) and parts >= wanted
