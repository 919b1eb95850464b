"""SQLAlchemy 2 tables: the rows of the store. A row class is named after its table's entity
(Order, Return, OrderLine, StockUpdate); the domain's object of the same concept holds its rules
(domain.Order, domain.Return, domain.Line), and what crosses a port is named after its side
(ports.MarketplaceOrder, MarketplaceLine, OfferStock, ShopOrder, ...), so one name never means two
things in one layer. Every schema change is an Alembic migration in migrations/. The states each
state column may hold, and their moves, are plugin/domain/lifecycles.py's machines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from plugin.domain import lifecycles as lc
from plugin.store.clock import utcnow


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value, dialect):
        from datetime import UTC
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON}


# Every state column's allowed values, by constraint name: (table, column, values). The database
# refuses any other (migration 0006 wrote these CHECKs with a frozen copy of the values; a test
# keeps the two equal). A NULL passes a CHECK (it is unknown, not false): nullable columns stay so.
STATE_CHECKS: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def _one_of(table: str, column: str, values) -> CheckConstraint:
    values = tuple(sorted(str(v) for v in values))
    name = f"ck_{table}_{column}"
    STATE_CHECKS[name] = (table, column, values)
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class Shop(Base):
    """A tenant: one webshop that installed orderbridge."""
    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)   # used in webhook URLs
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(40), default="woocommerce")
    url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[str] = mapped_column(Text)          # encrypted JSON (consumer key/secret)
    webhook_secret: Mapped[str] = mapped_column(Text)       # encrypted
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="active")
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # status "disconnected": the keys stopped working (401) or the merchant disconnected; jobs
    # stop, data is kept until disconnected_at + retention, a re-install makes it active again.
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disconnect_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The WooCommerce API key id of `credentials`, and a record of each key the shop gave us
    # (description, key ending, the key itself encrypted while it may be live; see
    # plugin/sync/shop_keys.py): WooCommerce has no API to revoke keys, so the settings page asks
    # the merchant to revoke those we no longer use.
    key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    superseded_key_ids: Mapped[list] = mapped_column(JSON, default=list)
    # What the shop's software has (plugin/sync/shop_capabilities.py): {"version", "has_gtin",
    # "checked_at"}, read after install and sign-in and refreshed daily. Not `settings`: those are
    # the merchant's choices, this is what the shop said. None: not asked yet.
    capabilities: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (UniqueConstraint("platform", "url", name="uq_shop_platform_url"),
                      _one_of("shops", "status", lc.SHOP.values))


class Connection(Base):
    """A seller account on a marketplace, linked to one shop."""
    __tablename__ = "connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(Text)          # encrypted JSON
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # non-secret: api urls, ...
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_seconds: Mapped[int] = mapped_column(Integer, default=300)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who the seller account is on the marketplace (a hash of its public id, e.g. bol client id):
    # billing counts seller accounts, not connections or countries.
    account_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Stock and returns: when the next stock reconcile and returns poll are due (claimed
    # by compare-and-set like next_poll_at); one stock pusher at a time per connection
    # (`stock_lease_until`), and none before `stock_paused_until` (the marketplace's Retry-After).
    stock_reconcile_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    returns_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stock_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stock_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shop: Mapped[Shop] = relationship()
    __table_args__ = (Index("ix_connections_due", "enabled", "next_poll_at"),)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="not_shipped", index=True)
    error_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tracking_provider: Mapped[str | None] = mapped_column(String(200), nullable=True)
    shop_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    address: Mapped[dict] = mapped_column(JSON, default=dict)   # shipping + billing as received
    # "Handle manually": the merchant took the order out of orderbridge's hands, with a reason.
    manual_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    manual_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the poll last read the order's detail again for the buyer's cancellation requests.
    cancellation_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)     # optimistic concurrency
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan")
    binding: Mapped[Binding] = relationship(back_populates="order", uselist=False)
    cancellations: Mapped[list[Cancellation]] = relationship(order_by="Cancellation.id", viewonly=True)
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("connection_id", "external_id", name="uq_order_connection_external"),
                      _one_of("orders", "status", lc.ORDER.values),
                      # where the error interrupted it: any status (a failure of a cancelled
                      # order's creation records `cancelled`)
                      _one_of("orders", "error_from", lc.OrderStatus))


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_line_id: Mapped[str] = mapped_column(String(100))
    ean: Mapped[str] = mapped_column(String(40), default="")
    sku: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[str] = mapped_column(String(20))        # Decimal as text: exact on both DBs
    # The line's own state: open = quantity - shipped - cancelled.
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # The buyer asked on the marketplace to cancel this line (seen once, told once).
    cancellation_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class Binding(Base):
    """The link between a marketplace order and its shop order (OCA's binder). Unique per
    connection + external id, and per shop + shop order id. `state` moves new -> creating ->
    created by compare-and-set; `lease_until` lets exactly one worker act on it at a time."""
    __tablename__ = "bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True)   # marker written into the shop order
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    shop_order_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shop_order_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    order: Mapped[Order] = relationship(back_populates="binding")
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id", name="uq_binding_connection_external"),
        UniqueConstraint("shop_id", "shop_order_id", name="uq_binding_shop_order"),
        _one_of("bindings", "state", lc.BINDING.values),
    )


class Shipment(Base):
    """The outbox row of a shipment push. An order may have several (partial shipments: lines
    shipped with their own T&T), each unique per (order, key): the key is the tracking number of
    a line-bound tracking entry, "rest" for the shipment of whatever no such entry carries. That
    unique key, and a line's quantity never being in two live shipments (checked under the order
    row's version), is what makes a double shipment impossible on our side.
    state: pending -> sending -> submitted -> success | failed (or pending -> test: the shop's
    test mode, never sent). `sending` means a request may have reached the marketplace: before
    sending again, look the earlier one up."""
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), default="rest", server_default="rest")
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reference: Mapped[str] = mapped_column(String(90))
    transporter_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    track_and_trace: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The shop's T&T this shipment carries (a line-bound entry's); NULL: the order's own.
    tracking_number: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tracking_provider: Mapped[str | None] = mapped_column(String(200), nullable=True)
    process_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The marketplace lines this shipment covers (the order's open lines when it was written);
    # NULL on shipments written before lines had their own state: every line.
    line_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # {line id: quantity} it ships; NULL on shipments written before partial shipments: each
    # line's whole open quantity.
    quantities: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    order: Mapped[Order] = relationship()
    __table_args__ = (UniqueConstraint("order_id", "key", name="uq_shipment_order_key"),
                      _one_of("shipments", "state", lc.SHIPMENT.values))


class TimelineEntry(Base):
    """Every state change and every external call of an order, secrets redacted."""
    __tablename__ = "timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))     # state | call | note
    outcome: Mapped[str] = mapped_column(String(20), default="ok")   # ok | retry | error
    message: Mapped[str] = mapped_column(Text)
    __table_args__ = (_one_of("timeline", "kind", lc.TimelineKind), _one_of("timeline", "outcome", lc.TimelineOutcome))


class WebhookDelivery(Base):
    """Each shop webhook delivery once: a redelivery is acknowledged and not reprocessed. The
    payload is kept until processed so a lost job is never a lost event.

    WooCommerce's X-WC-Webhook-Delivery-ID is hash(webhook id + current second), not unique per
    delivery: two changes of one order within a second share it. So a delivery is identified by
    its id *and* its body (`fingerprint`); the same id with another body is another event."""
    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))   # sha256(delivery id + body)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    __table_args__ = (UniqueConstraint("shop_id", "fingerprint", name="uq_delivery_shop_fingerprint"),)


class PollCursor(Base):
    """How far a poll stream got: `connection:<id>:orders`, `shop:<id>:orders`."""
    __tablename__ = "poll_cursors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream: Mapped[str] = mapped_column(String(100), unique=True)
    cursor_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuthGrant(Base):
    """One install or sign-in attempt through WooCommerce's app authorization (wc-auth). The
    signed token we hand the shop as `user_id` carries `nonce`; the shop's callback POST moves
    the grant pending -> approving (claimed once) -> approved (keys verified, shop stored) or
    failed; the browser's return moves it approved -> used and signs that browser in. Each grant
    signs in once."""
    __tablename__ = "auth_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))        # install | signin
    store_url: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="pending")   # see lifecycles.GRANT
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (_one_of("auth_grants", "state", lc.GRANT.values),
                      _one_of("auth_grants", "purpose", lc.GrantPurpose))


class BillingUsage(Base):
    """A seller account was in use (polled successfully) in a calendar month: one fee per seller
    account per month, whatever the number of connections or countries behind it."""
    __tablename__ = "billing_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    account_ref: Mapped[str] = mapped_column(String(64))
    account_name: Mapped[str] = mapped_column(String(200), default="")
    month: Mapped[str] = mapped_column(String(7))            # YYYY-MM (UTC)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("shop_id", "marketplace", "account_ref", "month", name="uq_billing_usage"),)


# ---------------------------------------------------------------- stock, cancellations, returns
class OfferLink(Base):
    """A shop product (or variation) of a connection's shop, linked to the seller's offer on the
    marketplace by its match key (EAN or SKU, per the shop's stock_match_by). One row per
    connection and product: also what the admin's Stock tab lists (status, last value sent, when).

    `offer_id` NULL with `listed` False is "Skipped" (not listed on the marketplace); `checked_at`
    NULL means the mapping was never looked up (the stock pusher looks it up before sending).
    `hold_until`: a stock update of this offer had an unknown outcome (a timeout) and may still
    commit on the marketplace until then; nothing newer is sent before, or the late one would win."""
    __tablename__ = "offer_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    shop_product_id: Mapped[int] = mapped_column(BigInteger)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sku: Mapped[str] = mapped_column(String(100), default="")
    ean: Mapped[str] = mapped_column(String(40), default="")
    match_key: Mapped[str] = mapped_column(String(100), default="")
    offer_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shop_stock: Mapped[int | None] = mapped_column(Integer, nullable=True)        # last seen in the shop
    marketplace_stock: Mapped[int | None] = mapped_column(Integer, nullable=True)  # last seen on the marketplace
    stock_status: Mapped[str] = mapped_column(String(20), default="pending")      # of the newest update
    last_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)        # last value sent
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("connection_id", "shop_product_id", name="uq_offer_link_product"),
        # one product per offer: two products with one EAN would fight over its stock
        UniqueConstraint("connection_id", "offer_id", name="uq_offer_link_offer"),
        _one_of("offer_links", "stock_status", lc.OfferStockStatus),
    )


class StockUpdate(Base):
    """The stock outbox: one row per value to send to one offer. Coalescing is in the store: at
    most one `pending` row per offer link (a partial unique index), and a newer value supersedes
    the pending one in the same transaction. pending -> sending -> sent | error; pending ->
    superseded | skipped. The amount is computed again from the shop when it is sent, so the
    newest stock always wins whatever order the triggers arrived in."""
    __tablename__ = "stock_updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("offer_links.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trigger: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    process_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    __table_args__ = (
        Index("ix_stock_updates_open", "connection_id", "state", "id"),
        Index("uq_stock_update_pending", "link_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        _one_of("stock_updates", "state", lc.STOCK_UPDATE.values),
    )


class Cancellation(Base):
    """The outbox row of cancelling order lines, both ways. Unique per order and set of lines.

    direction `marketplace` (the buyer asked): shop_pending -> shop_sending (the shop order is
    cancelled or the lines removed; both idempotent) -> pending -> sending -> submitted ->
    success | failed. direction `shop` (the merchant cancelled in the shop): pending -> sending ->
    submitted -> success | failed. `test`: the shop's test mode, never sent. `sending` is
    committed before the marketplace is called: after a lost answer the next attempt asks for the
    process an earlier call started (find_cancellation_process) before calling again."""
    __tablename__ = "cancellations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(20))          # marketplace | shop
    line_ids: Mapped[list] = mapped_column(JSON, default=list)
    line_key: Mapped[str] = mapped_column(String(500))          # sorted line ids: the identity
    reason_code: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20), index=True)
    shop_action: Mapped[str | None] = mapped_column(String(20), nullable=True)   # cancel_order | remove_lines | NULL
    process_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    shop_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    order: Mapped[Order] = relationship()
    __table_args__ = (UniqueConstraint("order_id", "line_key", name="uq_cancellation_order_lines"),
                      _one_of("cancellations", "state", lc.CANCELLATION.values),
                      _one_of("cancellations", "direction", lc.CancellationDirection),
                      _one_of("cancellations", "shop_action", lc.CancellationShopAction))


class Return(Base):
    """One returned order line (a marketplace RMA), recorded once per connection and RMA id.

    state (the marketplace's): registered -> handled (handling_result, quantity_returned).
    shop_state (what we tell the shop): pending -> sending -> done (note id or refund id) | skipped
    (not one of our orders) | error. handle_state (the merchant's handling pushed back):
    NULL -> pending -> sending -> submitted -> success | failed (or test)."""
    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    rma_id: Mapped[str] = mapped_column(String(100))
    return_id: Mapped[str] = mapped_column(String(100), default="")
    external_order_id: Mapped[str] = mapped_column(String(100), default="")
    line_id: Mapped[str] = mapped_column(String(100), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(Text, default="")
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="registered", index=True)
    handling_result: Mapped[str | None] = mapped_column(String(60), nullable=True)
    quantity_returned: Mapped[int | None] = mapped_column(Integer, nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shop_state: Mapped[str] = mapped_column(String(20), default="pending")
    shop_action: Mapped[str | None] = mapped_column(String(20), nullable=True)   # note | refund
    shop_note_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shop_refund_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shop_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handle_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    merchant_refund_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    process_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("connection_id", "rma_id", name="uq_return_connection_rma"),
                      _one_of("returns", "state", lc.RETURN.values),
                      _one_of("returns", "shop_state", lc.RETURN_SHOP.values),
                      _one_of("returns", "shop_action", lc.ReturnShopAction),
                      _one_of("returns", "handle_state", lc.RETURN_HANDLING.values))
