"""The SSRF guard on the real WooCommerceShop: pointed at the sandbox on 127.0.0.1 it refuses
every call before sending anything unless private hosts are allowed (dev/sandbox mode)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from adapters.errors import AdapterError
from adapters.netguard import UnsafeURL
from adapters.woocommerce import WooClient, WooCommerceShop
from plugin.config import Settings
from plugin.registry import AdapterRegistry
from plugin.store.secrets import SecretBox
from tests.contract.conftest_woocommerce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
)


def _rest_calls(sandbox) -> int:
    return sum(sandbox.state.stats.values())


def test_guarded_shop_refuses_loopback_before_sending(woo_sandbox):
    shop = WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=3)
    calls = (shop.check, lambda: shop.get_order(1),
             lambda: list(shop.orders_modified_after(datetime.now(UTC))),
             lambda: shop.ensure_webhooks("https://hooks.example/wh", "s", ("order.updated",)))
    for call in calls:
        with pytest.raises(UnsafeURL, match="loopback") as caught:
            call()
        assert not caught.value.retryable
        assert CONSUMER_SECRET not in str(caught.value)
    assert _rest_calls(woo_sandbox) == 0


def test_allowed_private_hosts_reach_the_sandbox(woo_sandbox):
    shop = WooCommerceShop(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=1,
                           allow_private_hosts=True)
    shop.check()
    assert _rest_calls(woo_sandbox) == 1
    assert WooClient(woo_sandbox.url, CONSUMER_KEY, CONSUMER_SECRET,
                     allow_private_hosts=True).get("orders").status == 200


def test_localhost_name_is_refused_too(woo_sandbox):
    url = woo_sandbox.url.replace("127.0.0.1", "localhost")
    shop = WooCommerceShop(url, CONSUMER_KEY, CONSUMER_SECRET, timeout=2, read_attempts=1)
    with pytest.raises(UnsafeURL, match="loopback"):
        shop.check()
    assert _rest_calls(woo_sandbox) == 0


@pytest.mark.parametrize("env, override, allowed", [("production", None, False), ("development", None, True),
                                                     ("production", "1", True), ("development", "0", False)])
def test_registry_follows_settings(woo_sandbox, monkeypatch, env, override, allowed):
    monkeypatch.setenv("ORDERBRIDGE_ENV", env)
    if override is None:
        monkeypatch.delenv("ORDERBRIDGE_ALLOW_PRIVATE_URLS", raising=False)
    else:
        monkeypatch.setenv("ORDERBRIDGE_ALLOW_PRIVATE_URLS", override)
    settings = Settings.from_env()
    assert settings.allow_private_urls is allowed
    box = SecretBox(Fernet.generate_key())
    row = SimpleNamespace(id=1, platform="woocommerce", url=woo_sandbox.url, settings={"http_timeout_seconds": 2},
                          credentials=box.seal_json({"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}))
    shop = AdapterRegistry(box, settings).shop(row)
    if allowed:
        shop.check()
    else:
        with pytest.raises(UnsafeURL):
            shop.check()
        assert _rest_calls(woo_sandbox) == 0


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(receiver, status):
    """Even with private hosts allowed, a 3xx (e.g. towards metadata or an internal service) is
    an error for a person, never a second request."""
    def redirect(environ, start_response):
        start_response(f"{status} Moved", [("Location", receiver.url), ("Content-Length", "0")])
        return [b""]

    server = make_server("127.0.0.1", 0, redirect, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        shop = WooCommerceShop(f"http://127.0.0.1:{server.server_port}", CONSUMER_KEY, CONSUMER_SECRET,
                               timeout=2, read_attempts=1, allow_private_hosts=True)
        with pytest.raises(AdapterError, match="redirected") as caught:
            shop.check()
        assert caught.value.status == status and not caught.value.retryable
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert receiver.requests == []
