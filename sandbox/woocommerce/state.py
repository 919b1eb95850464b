"""Everything one fake shop knows, behind one lock.

The Flask app, the delivery worker and tests (in-process) all touch the same WooState; every
read-modify-write happens under `state.lock` (re-entrant, so helpers can nest). Network I/O
(webhook pings and deliveries) is always done outside the lock.

Webhook events are collected per request and handed to the delivery queue when the request ends,
as WooCommerce does (wc_webhook_process_delivery queues, wc_webhook_execute_queue runs on
`shutdown`), and a webhook delivers at most once per resource per request.
"""

from __future__ import annotations

import itertools
import random
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from .faults import FaultConfig
from .models import ApiKey, Order, Product, Webhook

# The versions the captures in shared/specs/woocommerce came from, and their WordPress.
PROFILES = {"7.8.2": "6.1.9", "9.9.5": "6.9"}


def wordpress_for(wc_version: str) -> str:
    """The WordPress a WooCommerce release is played on: the captured pairs, else the newest."""
    return PROFILES.get(wc_version, "6.1.9" if wc_version.split(".")[0].isdigit()
                        and int(wc_version.split(".")[0]) < 8 else "6.9")


def parse_delay(value) -> tuple[float, float] | None:
    """A delivery delay range: None/0 (off), one number (fixed), "10-60", or (low, high)."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(?:[-,]\s*(\d+(?:\.\d*)?)\s*)?", value)
        if found is None:
            raise ValueError(f"bad delivery delay range: {value!r} (low-high seconds, e.g. 10-60)")
        value = tuple(float(n) for n in found.groups() if n is not None)
    elif isinstance(value, int | float):
        value = (float(value),)
    low, high = (float(value[0]), float(value[-1]))
    if low < 0 or high < low or len(value) > 2:
        raise ValueError(f"bad delivery delay range: {value!r} (low-high seconds, 0 <= low <= high)")
    return None if high == 0 else (low, high)


class WooState:
    def __init__(self, *, seed: int = 0, site_url: str | None = None,
                 clock: Callable[[], datetime] | None = None,
                 delivery_timeout: float = 5.0, ping_timeout: float = 5.0,
                 max_delivery_failures: int = 5, unique_delivery_ids: bool = False,
                 enforce_safe_urls: bool = False, accept_basic_over_http: bool = True,
                 require_https_callback: bool = True, auth_callback_timeout: float = 10.0,
                 admin_user: str = "admin", admin_password: str = "admin",
                 wc_version: str = "9.9.5", wp_version: str | None = None, hpos: bool | None = None,
                 delivery_delay: tuple[float, float] | None = None):
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.faults = FaultConfig()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._site_url = site_url.rstrip("/") if site_url else None
        # Real WooCommerce waits up to 60 s for a delivery and 5 s (WP default) for a ping; the
        # sandbox defaults both short so tests and demos never hang on a dead receiver.
        self.delivery_timeout = delivery_timeout
        self.ping_timeout = ping_timeout
        # The `woocommerce_max_webhook_delivery_failures` filter (default 5). WooCommerce disables
        # when a failure arrives while the count is already above it: the 7th in a row by default.
        self.max_delivery_failures = max_delivery_failures
        # WooCommerce's delivery id is wp_hash(webhook_id . time()): two deliveries of one webhook
        # in the same second share it. True gives every delivery its own id instead.
        self.unique_delivery_ids = unique_delivery_ids
        # wp_safe_remote_request() refuses private/loopback hosts and ports other than 80, 443
        # and 8080 (unless the URL is the site itself). Off by default so tests can use loopback.
        self.enforce_safe_urls = enforce_safe_urls
        # WooCommerce accepts Basic auth / consumer_key query params only when is_ssl(); over
        # plain http it requires OAuth 1.0a. The sandbox speaks http, so it accepts both unless
        # told to be strict.
        self.accept_basic_over_http = accept_basic_over_http
        # wc-auth (app authorization, routes_auth.py). WooCommerce refuses a callback_url that
        # does not start with https:// ("The callback_url needs to be over SSL"), with no setting
        # to turn that off; so does the sandbox unless told otherwise (`make run`, tests on
        # plain-http loopback: --allow-http-callbacks / require_https_callback=False). The key
        # POST to the callback waits up to 60 s in WooCommerce; short here so a dead receiver
        # never hangs a test.
        self.require_https_callback = require_https_callback
        self.auth_callback_timeout = auth_callback_timeout
        # The one WordPress user (ID 1, an administrator) who can log in and approve apps.
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.sessions: dict[str, str] = {}    # login session token -> user login (WP_Session_Tokens)
        # The site's AUTH/NONCE salts (wp-config.php): signs login cookies and nonces. Not from
        # self.rng, so adding a login never shifts the seeded ids and keys tests rely on.
        self.auth_salt = secrets.token_hex(32)
        # The WooCommerce release played (profiles below: what the captured 7.8.2 and 9.9.5 shops
        # did differently), and the WordPress it runs on (the Hookshot User-Agent names both).
        self.wc_version = wc_version
        self.wp_version = wp_version or wordpress_for(wc_version)
        # High-Performance Order Storage: orders in their own tables, the default for new shops
        # since WooCommerce 8.2 (older shops keep posts storage unless the merchant switches).
        # Changes what the admin's actions fire (trashing from the list, see orders.py).
        self.hpos = self.wc_at_least("8.2") if hpos is None else hpos
        # Action Scheduler runs the webhook queue from WP-Cron, which fires on a later page view:
        # on a real shop a delivery leaves 10-60 s after the change. (low, high) seconds: each
        # delivery waits a uniform random time in that range before it is sent; None sends at once.
        self.delivery_delay = parse_delay(delivery_delay)

        self.keys: dict[str, ApiKey] = {}
        self.orders: dict[int, Order] = {}
        self.products: dict[int, Product] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.deliveries: list[dict] = []
        self.stats: Counter = Counter()
        # Orders and products are posts: they share one id sequence, as in wp_posts.
        self._post_ids = itertools.count(self.rng.randint(100, 900))
        self._key_ids = itertools.count(1)
        self._webhook_ids = itertools.count(1)
        self._item_ids = itertools.count(1)
        self._meta_ids = itertools.count(1)
        self._comment_ids = itertools.count(1)        # order notes are wp_comments rows
        self._delivery_seq = itertools.count(1)
        self._local = threading.local()
        self._deliverer = None

    # ------------------------------------------------------------------ ids, time, site
    def now(self) -> datetime:
        """Naive UTC, whole seconds: what WordPress stores in post_date_gmt."""
        return self.clock().astimezone(UTC).replace(tzinfo=None, microsecond=0)

    def next_post_id(self) -> int:
        return next(self._post_ids)

    def next_webhook_id(self) -> int:
        return next(self._webhook_ids)

    def next_item_id(self) -> int:
        return next(self._item_ids)

    def next_meta_id(self) -> int:
        return next(self._meta_ids)

    def next_comment_id(self) -> int:
        return next(self._comment_ids)

    def wc_at_least(self, version: str) -> bool:
        """version_compare( WC_VERSION, version, '>=' ) for plain dotted versions."""
        def parts(text: str) -> tuple[int, ...]:
            return tuple(int(p) for p in text.split("-")[0].split(".") if p.isdigit())
        return parts(self.wc_version) >= parts(version)

    def wp_at_least(self, version: str) -> bool:
        """The same comparison for the WordPress version."""
        def parts(text: str) -> tuple[int, ...]:
            return tuple(int(p) for p in text.split("-")[0].split(".") if p.isdigit())
        return parts(self.wp_version) >= parts(version)

    # What the captured shops (shared/specs/woocommerce) did differently. Only 7.8.2 and 9.9.5
    # were captured: a boundary below is the release that brought the change where it is known
    # (GTIN 9.2, Requests 2 in WordPress 6.2, targetHints in WordPress 6.7), else a guess
    # between the two captures that says so.
    @property
    def has_gtin(self) -> bool:
        """`global_unique_id` on products and variations came in 9.2; before, the field does
        not exist: not served, and ignored on write (an unknown arg)."""
        return self.wc_at_least("9.2")

    @property
    def stores_created_via(self) -> bool:
        """9.9.5 stores the `created_via` a REST create sends (and GET /orders filters on it);
        7.8.2 forced "rest-api" (read-only in its schema). Both came in 9.9.0 (woocommerce
        pull requests 57052 and 57225)."""
        return self.wc_at_least("9.9")

    @property
    def link_target_hints(self) -> bool:
        """WordPress 6.7's REST server adds `targetHints.allow` (the methods) to self links."""
        return self.wp_at_least("6.7")

    @property
    def sends_referer(self) -> bool:
        """WordPress before 6.2 sent HTTP through Requests 1.x, whose curl transport sets the
        Referer to the URL itself: the 7.8.2 (WordPress 6.1.9) deliveries carry one, 9.9.5's
        (6.9, Requests 2) none."""
        return not self.wp_at_least("6.2")

    @property
    def refund_item_lists(self) -> bool:
        """Refunds show shipping_lines, tax_lines and fee_lines on 9.9.5, not on 7.8.2 (their
        schema has line_items only). Between the two: guessed at 9.0."""
        return self.wc_at_least("9.0")

    def self_link(self, href: str) -> dict:
        """One `_links.self` entry as the WordPress of this shop renders it."""
        if self.link_target_hints:
            return {"href": href, "targetHints": {"allow": ["GET", "POST", "PUT", "PATCH", "DELETE"]}}
        return {"href": href}

    def next_delivery_seq(self) -> int:
        return next(self._delivery_seq)

    @property
    def site_url(self) -> str:
        """home_url() without the trailing slash."""
        return self._site_url or "http://localhost"

    @property
    def configured_site_url(self) -> str | None:
        """The site URL if one was set (serve() sets it once the port is known)."""
        return self._site_url

    def set_site_url(self, url: str, *, only_if_unset: bool = False) -> None:
        with self.lock:
            if only_if_unset and self._site_url:
                return
            self._site_url = url.rstrip("/")

    def random_string(self, length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
        with self.lock:
            return "".join(self.rng.choice(alphabet) for _ in range(length))

    def chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    # ------------------------------------------------------------------ API keys
    def add_key(self, consumer_key: str, consumer_secret: str, permissions: str = "read_write", *,
                description: str = "", user_id: int = 1) -> ApiKey:
        if permissions not in ("read", "write", "read_write"):
            raise ValueError(f"bad permissions: {permissions}")
        with self.lock:
            key = ApiKey(next(self._key_ids), consumer_key, consumer_secret, permissions,
                         description=description, user_id=user_id, created=self.now())
            self.keys[consumer_key] = key
            return key

    def remove_key(self, key_id: int) -> ApiKey | None:
        """Revoke, as wp-admin's REST API key list does: later requests with it are anonymous."""
        with self.lock:
            for consumer_key, key in list(self.keys.items()):
                if key.key_id == key_id:
                    return self.keys.pop(consumer_key)
            return None

    # ------------------------------------------------------------------ webhook events
    def begin_request(self) -> None:
        self._local.events = []

    def fire(self, topic: str, resource_id: int) -> None:
        """A WooCommerce hook ran for this resource: every active webhook on `topic` is due."""
        with self.lock:
            due = [(wh.id, resource_id) for wh in self.webhooks.values()
                   if wh.status == "active" and wh.topic == topic]
        pending = getattr(self._local, "events", None)
        if pending is None:
            self.deliverer.enqueue_many(due)
            return
        for event in due:
            if event not in pending:          # WC_Webhook::is_already_processed()
                pending.append(event)

    def end_request(self) -> None:
        pending = getattr(self._local, "events", None)
        self._local.events = None
        if pending:
            self.deliverer.enqueue_many(pending)

    @property
    def deliverer(self):
        with self.lock:
            if self._deliverer is None:
                from .delivery import Deliverer  # late: delivery renders orders, which use state
                self._deliverer = Deliverer(self)
            return self._deliverer

    def pending_deliveries(self) -> int:
        return self._deliverer.pending() if self._deliverer else 0

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Block until the delivery queue is empty and idle (tests, demos)."""
        return self.deliverer.wait_idle(timeout) if self._deliverer else True

    def close(self) -> None:
        with self.lock:
            deliverer, self._deliverer = self._deliverer, None
        if deliverer is not None:
            deliverer.stop()
