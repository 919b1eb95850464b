"""SQLAlchemy 2 tables. Every schema change is an Alembic migration in migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

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
    # The WooCommerce API key id of `credentials`, and older ids a sign-in replaced: WooCommerce
    # has no API to revoke keys, so the settings page asks the merchant to revoke these.
    key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    superseded_key_ids: Mapped[list] = mapped_column(JSON, default=list)
    __table_args__ = (UniqueConstraint("platform", "url", name="uq_shop_platform_url"),)


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
    version: Mapped[int] = mapped_column(Integer, default=1)     # optimistic concurrency
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan")
    binding: Mapped[Binding] = relationship(back_populates="order", uselist=False)
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("connection_id", "external_id", name="uq_order_connection_external"),)


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
    )


class Shipment(Base):
    """The outbox row of a shipment push. One per order: the unique order_id is what makes a
    double shipment impossible on our side. state: pending -> sending -> submitted -> success |
    failed (or pending -> test: the shop's test mode, never sent). `sending` means a request may have reached the marketplace: before sending again,
    look the earlier one up."""
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reference: Mapped[str] = mapped_column(String(90))
    transporter_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    track_and_trace: Mapped[str | None] = mapped_column(String(200), nullable=True)
    process_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    order: Mapped[Order] = relationship()


class TimelineEntry(Base):
    """Every state change and every external call of an order, secrets redacted."""
    __tablename__ = "timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))     # state | call | note
    outcome: Mapped[str] = mapped_column(String(20), default="ok")   # ok | retry | error
    message: Mapped[str] = mapped_column(Text)


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
    the grant pending -> approved (keys verified, shop stored); the browser's return moves it
    approved -> used and signs that browser in. Each grant signs in once."""
    __tablename__ = "auth_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))        # install | signin
    store_url: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="pending")   # pending | approved | used
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


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
