"""adapters.netguard: the SSRF guard for shop URLs. A fake resolver stands in for DNS: no real
lookups, no network."""

from __future__ import annotations

import socket
import threading

import pytest

from adapters.errors import AdapterError, Transient
from adapters.netguard import SHARED_CACHE, UnsafeURL, VerdictCache, check_url, non_public_reason


class FakeResolver:
    """getaddrinfo over a dict host -> addresses; unknown hosts fail like NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = []
        for address in self.table[host]:
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 0, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)))
        return answers


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def check(url: str, table: dict[str, list[str]] | None = None, *, allow_private: bool = False,
          cache: VerdictCache | None = None) -> FakeResolver:
    resolver = FakeResolver(table or {})
    check_url(url, allow_private=allow_private, resolver=resolver, cache=cache)
    return resolver


# ---------------------------------------------------------------------------- addresses
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001:80b::200e",
          "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]

NON_PUBLIC = [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("10.0.0.5", "private"), ("172.16.3.4", "private"), ("172.31.255.255", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "broadcast"),
    ("100.64.0.1", "carrier-grade NAT"), ("100.127.255.254", "carrier-grade NAT"),
    ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"), ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"), ("198.18.0.1", "benchmarking"), ("192.0.0.8", "IETF"),
    ("::ffff:127.0.0.1", "loopback address via IPv4-mapped 127.0.0.1"),
    ("::ffff:169.254.169.254", "link-local address via IPv4-mapped"),
    ("::127.0.0.1", "loopback address via IPv4-compatible"),
    ("::ffff:0:10.0.0.1", "private address via IPv4-translated"),
    ("2002:7f00:1::", "loopback address via 6to4 127.0.0.1"), ("2002:a9fe:a9fe::1", "link-local address via 6to4"),
    ("64:ff9b::a00:1", "private address via NAT64 10.0.0.1"), ("64:ff9b::7f00:1", "loopback address via NAT64"),
    ("64:ff9b:1::1", "local-use NAT64"), ("fec0::1", "site-local"), ("100::1", "discard"),
    ("2001::1", "IETF"), ("4000::1", "reserved"),
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert non_public_reason(address) is None
    check("https://shop.example/", {"shop.example": [address]})


@pytest.mark.parametrize("address, why", NON_PUBLIC)
def test_every_non_public_class_is_refused(address, why):
    reason = non_public_reason(address)
    assert reason is not None and why in reason
    with pytest.raises(UnsafeURL) as caught:
        check("https://shop.example/wp", {"shop.example": [address]})
    message = str(caught.value)
    assert "\n" not in message and why in message
    assert message.startswith("shop URL https://shop.example resolves to ")
    assert message.endswith("only public addresses are allowed")


def test_message_names_the_address_and_why():
    with pytest.raises(UnsafeURL, match=r"^shop URL http://10\.0\.0\.5 resolves to a private address \(10\.0\.0\.5\); "
                                        r"only public addresses are allowed$"):
        check("http://10.0.0.5")


@pytest.mark.parametrize("answers", [
    ["93.184.216.34", "127.0.0.1"],
    ["10.1.2.3", "93.184.216.34"],
    ["93.184.216.34", "2606:4700::1111", "fd00::7"],
])
def test_any_non_public_answer_refuses_the_host(answers):
    with pytest.raises(UnsafeURL):
        check("https://shop.example", {"shop.example": answers})


def test_unsafe_url_needs_a_person():
    error = UnsafeURL("x")
    assert isinstance(error, AdapterError) and not error.retryable


# ---------------------------------------------------------------------------- literal hosts
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/",
    "http://0177.0.0.1/", "http://127.1/", "http://0/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/", "http://[fe80::1%25eth0]/", "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/", "http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "HTTP://127.0.0.1/",
])
def test_literal_addresses_in_any_notation_are_refused_without_dns(url):
    resolver = FakeResolver({})
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False, resolver=resolver, cache=None)
    assert resolver.calls == []


def test_public_literal_passes_without_dns():
    assert check("https://93.184.216.34:8443/shop").calls == []
    assert check("https://[2606:4700::1111]/").calls == []


# ---------------------------------------------------------------------------- shape of the URL
@pytest.mark.parametrize("url, match", [
    ("ftp://shop.example/", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://127.0.0.1:6379/_INFO", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("shop.example", "http:// or https://"),
    ("//shop.example/", "http:// or https://"),
    ("", "empty"),
    ("http://", "no host"),
    ("https:///path", "no host"),
    ("https://user:pass@shop.example/", "user name or password"),
    ("https://user@shop.example/", "user name or password"),
    ("https://shop.example@127.0.0.1/", "user name or password"),
    ("http://shop.example\\@127.0.0.1/", "backslash"),
    ("http://shop .example/", "whitespace"),
    ("http://shop.example\r\nHost: x/", "control"),
    ("http://shop.example:99999/", "malformed"),
    ("http://shop.example:80:90/", "malformed"),
    ("http://127.0.0.%31/", "ambiguous"),
])
@pytest.mark.parametrize("allow_private", [False, True])
def test_bad_urls_are_refused_in_every_mode(url, match, allow_private):
    resolver = FakeResolver({"shop.example": ["93.184.216.34"]})
    with pytest.raises(UnsafeURL, match=match):
        check_url(url, allow_private=allow_private, resolver=resolver, cache=None)
    assert resolver.calls == []


def test_userinfo_never_reaches_the_message():
    with pytest.raises(UnsafeURL) as caught:
        check("https://admin:s3cr3t-pw@shop.example/")
    assert "s3cr3t" not in str(caught.value) and "admin" not in str(caught.value)


def test_fragment_or_query_with_at_sign_is_not_userinfo():
    resolver = check("https://shop.example/#@127.0.0.1", {"shop.example": ["93.184.216.34"]})
    assert resolver.calls == ["shop.example"]


def test_host_is_resolved_as_requests_will_connect():
    resolver = check("https://Bücher.Example/shop", {"xn--bcher-kva.example": ["93.184.216.34"]})
    assert resolver.calls == ["xn--bcher-kva.example"]


# ---------------------------------------------------------------------------- dev / sandbox mode
@pytest.mark.parametrize("url", ["http://127.0.0.1:8089", "http://localhost:8089/", "http://10.0.0.5",
                                 "http://[::1]:8080", "http://169.254.169.254/"])
def test_allow_private_lets_local_hosts_through_without_dns(url):
    resolver = check(url, {"localhost": ["127.0.0.1"]}, allow_private=True)
    assert resolver.calls == []


def test_allow_private_does_not_fill_the_cache():
    cache = VerdictCache()
    resolver = FakeResolver({"sandbox.test": ["127.0.0.1"]})
    check_url("http://sandbox.test", allow_private=True, resolver=resolver, cache=cache)
    assert len(cache) == 0
    with pytest.raises(UnsafeURL):
        check_url("http://sandbox.test", allow_private=False, resolver=resolver, cache=cache)


# ---------------------------------------------------------------------------- resolution failures
def test_unresolvable_host_is_transient_not_an_ssrf_verdict():
    with pytest.raises(Transient, match="cannot resolve host") as caught:
        check("https://nowhere.example/")
    assert not isinstance(caught.value, UnsafeURL) and caught.value.retryable


def test_no_addresses_is_transient():
    with pytest.raises(Transient, match="cannot resolve host"):
        check("https://empty.example/", {"empty.example": []})


def test_resolution_failures_are_not_cached():
    cache = VerdictCache()
    table: dict[str, list[str]] = {}
    resolver = FakeResolver(table)
    with pytest.raises(Transient):
        check_url("https://late.example", allow_private=False, resolver=resolver, cache=cache)
    table["late.example"] = ["93.184.216.34"]
    check_url("https://late.example", allow_private=False, resolver=resolver, cache=cache)
    assert resolver.calls == ["late.example", "late.example"]


# ---------------------------------------------------------------------------- verdict cache
def test_cache_honours_ttl():
    clock = FakeClock()
    cache = VerdictCache(ttl=60, clock=clock)
    table = {"shop.example": ["93.184.216.34"]}
    resolver = FakeResolver(table)

    def call():
        check_url("https://shop.example/x", allow_private=False, resolver=resolver, cache=cache)

    call()
    clock.now += 30
    call()
    assert resolver.calls == ["shop.example"]           # served from the cache

    table["shop.example"] = ["127.0.0.1"]               # the name now points inside
    clock.now += 29.9
    call()                                              # still the cached verdict
    clock.now += 0.1
    with pytest.raises(UnsafeURL, match="loopback"):    # expired: resolved again and refused
        call()
    assert resolver.calls == ["shop.example", "shop.example"]

    with pytest.raises(UnsafeURL):                      # refusals are cached too
        call()
    assert len(resolver.calls) == 2


def test_cache_is_per_host_and_per_resolver():
    cache = VerdictCache()
    good = FakeResolver({"a.example": ["93.184.216.34"], "b.example": ["10.0.0.1"]})
    check_url("https://a.example", allow_private=False, resolver=good, cache=cache)
    with pytest.raises(UnsafeURL):
        check_url("https://b.example", allow_private=False, resolver=good, cache=cache)
    other = FakeResolver({"a.example": ["127.0.0.1"]})
    with pytest.raises(UnsafeURL):                      # another resolver never reuses a's verdict
        check_url("https://a.example", allow_private=False, resolver=other, cache=cache)


def test_cache_is_bounded():
    cache = VerdictCache(size=3)
    resolver = FakeResolver({f"h{i}.example": ["93.184.216.34"] for i in range(10)})
    for i in range(10):
        check_url(f"https://h{i}.example", allow_private=False, resolver=resolver, cache=cache)
    assert len(cache) == 3


def test_cache_is_thread_safe():
    cache = VerdictCache(size=50)
    resolver = FakeResolver({f"h{i}.example": ["93.184.216.34"] for i in range(100)})
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                check_url(f"https://h{(i + offset) % 100}.example", allow_private=False,
                          resolver=resolver, cache=cache)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(cache) <= 50


def test_default_cache_is_shared():
    resolver = FakeResolver({"shared.example": ["93.184.216.34"]})
    try:
        check_url("https://shared.example", allow_private=False, resolver=resolver)
        check_url("https://shared.example/other", allow_private=False, resolver=resolver)
        assert resolver.calls == ["shared.example"]
    finally:
        SHARED_CACHE.clear()


# ---------------------------------------------------------------------------- the WooCommerce client
def test_woo_client_refuses_before_sending(monkeypatch):
    import requests

    from adapters.woocommerce import WooClient

    def no_network(*args, **kwargs):
        raise AssertionError("a request was sent")

    monkeypatch.setattr(requests, "request", no_network)
    monkeypatch.setattr("woocommerce.api.request", no_network)
    client = WooClient("http://169.254.169.254", "ck_x", "cs_x")
    for call in (lambda: client.get("orders"), lambda: client.post("orders", {}),
                 lambda: client.put("orders/1", {}), lambda: client.delete("orders/1")):
        with pytest.raises(UnsafeURL, match="link-local"):
            call()


def test_woo_client_defaults_to_refusing_private_hosts():
    from adapters.woocommerce import WooClient, WooCommerceShop

    assert WooClient("http://127.0.0.1", "ck", "cs").allow_private_hosts is False
    assert WooCommerceShop("http://127.0.0.1", "ck", "cs")._client.allow_private_hosts is False
    assert WooCommerceShop("http://127.0.0.1", "ck", "cs", allow_private_hosts=True)._client.allow_private_hosts
