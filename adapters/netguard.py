"""An SSRF guard for URLs a merchant gave us and the server then calls for ever after.

Why: a merchant types their shop's URL at install / sign-in and every worker then sends
authenticated requests to it. Without a check, "http://169.254.169.254/..." (cloud metadata),
"http://127.0.0.1:6379" (our Redis) or "http://10.0.0.7" (an internal service) would turn
orderbridge into a proxy into our own network. In production (`allow_private=False`) a URL is
refused unless its host resolves *only* to globally routable addresses; in dev/sandbox mode
(`Settings.allow_private_urls`) loopback and private hosts are allowed so the local sandboxes
work. The URL's shape (http/https, a host, no user:pass@) is checked in both modes.

How: `check_url` parses the URL the way requests/urllib3 will (and refuses a URL the two parsers
read differently), takes literal IPs in any notation getaddrinfo accepts ("2130706433",
"0x7f.1", "[::ffff:127.0.0.1]") as addresses, otherwise resolves every A/AAAA answer, and
refuses if ANY address is loopback, private, link-local, unspecified, multicast, reserved,
shared (CGNAT), documentation/benchmarking, or an IPv6 wrapper (IPv4-mapped/-compatible,
6to4, NAT64) around such an IPv4. Verdicts for resolved hosts are cached per host for
`CACHE_TTL` seconds (bounded, thread-safe) so a busy worker does not hit DNS on every call;
the cache is consulted and filled only on the `allow_private=False` path, so it can never turn
a refusal into a pass.

Known residual risk (DNS rebinding): we resolve, then requests resolves again when it connects.
A hostile DNS server answering with TTL 0 can return a public address to us and 127.0.0.1 to
requests a moment later (the verdict cache does not change that: the second lookup is
requests'). Likewise an HTTP(S)_PROXY in the environment resolves on the proxy, not here.
Closing it means validating the address actually connected to: a requests transport adapter
whose urllib3 connection resolves once, checks each address with `non_public_reason` and
connects to that vetted IP (keeping the Host header / SNI), or an egress proxy (e.g.
Smokescreen) or network egress rules that enforce the same policy for every worker.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from adapters.errors import AdapterError, Transient

CACHE_TTL = 60.0
CACHE_SIZE = 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(AdapterError):
    """A URL we refuse to call (SSRF guard, or a malformed shop URL). Not retryable: a person
    must fix the shop URL."""


# First match wins; checked before Python's own is_global as a version-independent floor.
_V4_BLOCKED = tuple((ipaddress.IPv4Network(net), label) for net, label in (
    ("0.0.0.0/32", "an unspecified address"),
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "a broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
))
_V6_BLOCKED = tuple((ipaddress.IPv6Network(net), label) for net, label in (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a private (local-use NAT64) address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/23", "an IETF protocol address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address merely wraps (and reaches), if any."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _V4_TRANSLATED:
        return "IPv4-translated", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if 1 < int(ip) <= 0xFFFFFFFF:       # ::a.b.c.d, IPv4-compatible (deprecated); not :: or ::1
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip))
    return None


def non_public_reason(address: str | IPAddress) -> str | None:
    """Why `address` is not a public, globally routable unicast address ("a loopback address",
    ...), or None when it is. Accepts an IPv6 zone suffix ("fe80::1%eth0")."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, v4 = embedded
            reason = non_public_reason(v4)
            return None if reason is None else f"{reason} via {kind} {v4}"
        blocked = _V6_BLOCKED
    else:
        blocked = _V4_BLOCKED
    for network, label in blocked:
        if address in network:
            return label
    for flag, label in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
                        ("is_unspecified", "an unspecified address"), ("is_multicast", "a multicast address"),
                        ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(address, flag):
            return label
    if not address.is_global:
        return "a non-public address"
    return None


# ---------------------------------------------------------------------------- verdict cache
_MISSING = object()


class VerdictCache:
    """host -> verdict (None: every address public; (address, reason): refused), for `ttl`
    seconds, at most `size` hosts (least recently used goes first). Thread-safe."""

    def __init__(self, ttl: float = CACHE_TTL, size: int = CACHE_SIZE,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.size = max(1, size)
        self._clock = clock
        self._entries: OrderedDict[object, tuple[float, tuple[str, str] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object):
        """The cached verdict, or `_MISSING` when absent or expired."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return _MISSING
            expires, verdict = entry
            if now >= expires:
                del self._entries[key]
                return _MISSING
            self._entries.move_to_end(key)
            return verdict

    def put(self, key: object, verdict: tuple[str, str] | None) -> None:
        expires = self._clock() + self.ttl
        with self._lock:
            self._entries[key] = (expires, verdict)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


SHARED_CACHE = VerdictCache()


# ---------------------------------------------------------------------------- the check
def check_url(url: str, *, allow_private: bool, resolver=socket.getaddrinfo,
              cache: VerdictCache | None = SHARED_CACHE) -> None:
    """Refuse (UnsafeURL) a URL that is not plain http(s)://host[:port]/... or, unless
    `allow_private`, whose host is or resolves to any non-public address. A host that does not
    resolve raises Transient ("cannot resolve host"): nothing was sent, try again later.
    `resolver` has socket.getaddrinfo's signature; `cache=None` resolves every time."""
    shown, host = _parse(url)
    if allow_private:
        return
    literal = _literal_ip(host)
    if literal is not None:
        reason = non_public_reason(literal)
        verdict = None if reason is None else (str(literal), reason)
    else:
        key = (host, resolver)
        verdict = cache.get(key) if cache is not None else _MISSING
        if verdict is _MISSING:
            verdict = _resolve_verdict(shown, host, resolver)
            if cache is not None:
                cache.put(key, verdict)
    if verdict is not None:
        address, reason = verdict
        raise UnsafeURL(f"shop URL {shown} resolves to {reason} ({address}); only public addresses are allowed")


def _parse(url: str) -> tuple[str, str]:
    """(scheme://host[:port] for messages, the host requests will connect to). The host is
    urllib3's reading of the URL (requests connects to exactly that); the standard library's
    reading must agree, so a parser differential cannot smuggle another host past us."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("shop URL is empty")
    url = url.strip()                       # requests strips too
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in url):
        raise UnsafeURL("shop URL contains whitespace, control characters or a backslash")
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_host = split.hostname or ""
        split.port  # noqa: B018  (raises ValueError on a bad port)
    except (LocationParseError, ValueError) as exc:
        raise UnsafeURL(f"shop URL is malformed ({exc})") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"shop URL must start with http:// or https:// (got {scheme + ':' if scheme else 'no scheme'})")
    host = (parsed.host or "").lower().strip("[]")
    if not host:
        raise UnsafeURL(f"shop URL {scheme}:// has no host")
    shown = f"{scheme}://{'[' + host + ']' if ':' in host else host}{'' if parsed.port is None else f':{parsed.port}'}"
    if parsed.auth is not None or "@" in split.netloc:
        raise UnsafeURL(f"shop URL {shown} must not contain a user name or password (user:pass@)")
    if _comparable(split_host) != _comparable(host):
        raise UnsafeURL(f"shop URL {shown} is ambiguous (its host also reads as {split_host!r})")
    return shown, host


def _comparable(host: str) -> str:
    host = host.lower().split("%", 1)[0]
    if host.isascii():
        return host
    try:                                    # urllib3 IDNA-encodes a non-ASCII host
        import idna
        return ".".join(idna.encode(label, uts46=True).decode("ascii") if label else label
                        for label in host.split("."))
    except Exception:  # noqa: BLE001  (idna.IDNAError, UnicodeError)
        return host


def _literal_ip(host: str) -> IPAddress | None:
    """The address a literal host means, in every notation getaddrinfo accepts: dotted quad,
    "127.1", "0x7f.1", "0177.0.0.1", "2130706433", IPv6 with or without a zone."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve_verdict(shown: str, host: str, resolver) -> tuple[str, str] | None:
    try:
        answers = resolver(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:                    # a label too long or empty: no DNS answer will ever fix it
        raise UnsafeURL(f"shop URL {shown} has an invalid host name") from None
    except OSError as exc:
        raise Transient(f"shop URL {shown}: cannot resolve host ({exc.__class__.__name__}: {exc})") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise Transient(f"shop URL {shown}: cannot resolve host (no addresses)")
    for address in addresses:
        try:
            reason = non_public_reason(address)
        except ValueError:
            reason = "an unparseable address"
        if reason is not None:
            return address, reason
    return None
