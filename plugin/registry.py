"""Builds the real adapter for a shop or a marketplace connection from its stored (encrypted)
settings. Instances are cached per row and credentials, so a marketplace token is fetched once
and reused by every job in the process, and rebuilt when the credentials change."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from plugin.config import Settings
from plugin.store.secrets import SecretBox
from plugin.sync.ports import MarketplaceCapabilities, MarketplacePort, ShopOrder, ShopPort, ShopProduct

MARKETPLACES = ("bol",)
SHOP_PLATFORMS = ("woocommerce",)
CACHE_SIZE = 2048


class AdapterRegistry:
    def __init__(self, box: SecretBox, settings: Settings, limiter: Any = None):
        self._box = box
        self._settings = settings
        # Marketplace rate limits per credential, shared by every adapter this registry builds
        # (and through Redis by every process, when plugin.runtime passes a RedisLimiter).
        if limiter is None:
            from adapters.ratelimit import LocalLimiter
            limiter = LocalLimiter()
        self._limiter = limiter
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, key: tuple, build):
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        adapter = build()
        with self._lock:
            self._cache[key] = adapter
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return adapter

    @staticmethod
    def _fingerprint(*parts: Any) -> str:
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def marketplace(self, connection: Any) -> MarketplacePort:
        settings = dict(connection.settings or {})
        key = ("marketplace", connection.id, self._fingerprint(connection.credentials, sorted(settings.items())))
        return self._cached(key, lambda: build_marketplace(
            connection.marketplace, self._box.open_json(connection.credentials), settings,
            limiter=self._limiter, rate_limits=getattr(self._settings, "bol_rate_limits", None)))

    def shop(self, shop: Any) -> ShopPort:
        settings = dict(shop.settings or {})
        allow_private = bool(self._settings.allow_private_urls)   # SSRF guard off only in dev/sandbox
        # the software's version as the shop said it (plugin/sync/shop_capabilities.py)
        version = (getattr(shop, "capabilities", None) or {}).get("version")   # None on a bare stand-in
        key = ("shop", shop.id, allow_private,
               self._fingerprint(shop.credentials, shop.url, sorted(settings.get("tracking_meta_keys", [])),
                                 settings.get("http_timeout_seconds"), settings.get("ean_meta_key", ""), version))
        return self._cached(key, lambda: build_shop(shop.platform, shop.url, self._box.open_json(shop.credentials),
                                                    settings, allow_private_hosts=allow_private, version=version))

    def credentials_schema(self, marketplace: str):
        return credentials_schema(marketplace)

    def marketplaces(self) -> tuple[str, ...]:
        return MARKETPLACES

    def capabilities(self, marketplace: str) -> MarketplaceCapabilities:
        """What the marketplace can do, as its adapter declares it, without building a client."""
        if marketplace == "bol":
            from adapters.bol.adapter import CAPABILITIES
            return CAPABILITIES
        raise ValueError(f"unknown marketplace {marketplace!r}")

    def transporter_codes(self, marketplace: str) -> frozenset[str]:
        """The transporter codes the marketplace accepts (for the settings page's choices)."""
        if marketplace == "bol":
            from adapters.bol.adapter import TRANSPORTER_CODES
            return TRANSPORTER_CODES
        raise ValueError(f"unknown marketplace {marketplace!r}")

    def check_shop_url(self, url: str) -> None:
        """The SSRF guard every shop URL passes before we store it or call it."""
        from adapters.netguard import check_url
        check_url(url, allow_private=bool(self._settings.allow_private_urls))

    def authorize_url(self, store_url: str, **params: str) -> str:
        """Where the merchant approves orderbridge in their shop (WooCommerce wc-auth)."""
        from adapters.woocommerce.install import authorize_url
        return authorize_url(store_url, **params)

    def install_callback_schema(self):
        """The marshmallow schema of the keys the shop POSTs to our install callback."""
        from adapters.woocommerce.install import AuthCallbackSchema
        return AuthCallbackSchema()

    def cancel_reason_codes(self, marketplace: str) -> tuple[str, ...]:
        """The reason codes the marketplace accepts for a seller's cancellation."""
        if marketplace == "bol":
            from adapters.bol.codes import CANCEL_REASON_CODES
            return CANCEL_REASON_CODES
        raise ValueError(f"unknown marketplace {marketplace!r}")

    def return_handling_results(self, marketplace: str) -> tuple[str, ...]:
        """How a return may be handled on the marketplace."""
        if marketplace == "bol":
            from adapters.bol.codes import RETURN_HANDLING_RESULTS
            return RETURN_HANDLING_RESULTS
        raise ValueError(f"unknown marketplace {marketplace!r}")

    def parse_shop_order(self, shop: Any, payload: dict) -> ShopOrder:
        from adapters.woocommerce.mapping import wc_to_shop_order
        keys = tuple((shop.settings or {}).get("tracking_meta_keys", []))
        return wc_to_shop_order(payload, tracking_meta_keys=keys)

    def parse_shop_product(self, shop: Any, payload: dict) -> ShopProduct:
        """A product.updated webhook body (a product or a variation) as the shop's adapter reads
        products, with the shop's EAN meta key. Raises ValueError (UnexpectedPayload) when the
        body is not a product."""
        from adapters.woocommerce.mapping import wc_to_shop_product
        return wc_to_shop_product(payload, (shop.settings or {}).get("ean_meta_key", "") or "")


def credentials_schema(marketplace: str):
    if marketplace == "bol":
        from adapters.bol.adapter import BolConfigSchema
        return BolConfigSchema()
    raise ValueError(f"unknown marketplace {marketplace!r}")


def build_marketplace(name: str, credentials: dict, settings: dict, *, limiter: Any = None,
                      rate_limits: dict | None = None) -> MarketplacePort:
    """`limiter` (adapters.ratelimit) keeps the seller account's calls inside its budgets;
    `rate_limits` ({group | "default": [rate, burst]}) overrides the adapter's budgets."""
    if name == "bol":
        from adapters.bol.adapter import from_config
        urls = {k: settings[s] for k, s in (("base_url", "api_url"), ("token_url", "token_url")) if settings.get(s)}
        options = {}
        if limiter is not None:
            options.update(limiter=limiter, budgets=bol_budgets(rate_limits))
        return from_config(credentials, **urls, **options)
    raise ValueError(f"unknown marketplace {name!r}")


def bol_budgets(rate_limits: dict | None) -> dict:
    """{group: Budget} from the ORDERBRIDGE_BOL_RATE_LIMITS setting ("default" = every group)."""
    from adapters.bol.client import DEFAULT_BUDGETS
    from adapters.ratelimit import Budget
    budgets = dict(DEFAULT_BUDGETS)
    limits = dict(rate_limits or {})
    default = limits.pop("default", None)
    if default is not None:
        budgets = dict.fromkeys(budgets, Budget(float(default[0]), int(default[1])))
    for group, (rate, burst) in limits.items():
        budgets[group] = Budget(float(rate), int(burst))
    return budgets


def build_shop(platform: str, url: str, credentials: dict, settings: dict, *,
               allow_private_hosts: bool = False, version: str | None = None) -> ShopPort:
    """`allow_private_hosts` (Settings.allow_private_urls: dev/sandbox only) lets the shop URL
    resolve to loopback/private addresses; otherwise every call to the shop refuses them.
    `version`: the shop software's release, as it said (None: not known)."""
    if platform == "woocommerce":
        from adapters.woocommerce.adapter import WooCommerceShop
        return WooCommerceShop(url, credentials["consumer_key"], credentials["consumer_secret"],
                               tracking_meta_keys=tuple(settings.get("tracking_meta_keys", [])),
                               timeout=float(settings.get("http_timeout_seconds", 15.0)),
                               allow_private_hosts=allow_private_hosts,
                               ean_meta_key=str(settings.get("ean_meta_key", "") or ""), wc_version=version)
    raise ValueError(f"unknown shop platform {platform!r}")
