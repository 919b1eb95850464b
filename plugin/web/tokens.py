"""The install token: what orderbridge hands WooCommerce as `user_id` in the wc-auth request and
gets back in the callback and on the return. Signed (HMAC, itsdangerous) and expiring, it names
a grant's random nonce and purpose, so it is neither guessable nor forgeable, and a grant row
(plugin/sync/install.py) makes each one usable once."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from plugin.sync.install import GRANT_SECONDS


class InvalidToken(Exception):
    pass


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="orderbridge wc-auth grant")


def make(key: bytes, nonce: str, purpose: str) -> str:
    return _serializer(key).dumps({"n": nonce, "p": purpose})


def read(key: bytes, token: str, *, max_age: int = GRANT_SECONDS) -> tuple[str, str]:
    """(nonce, purpose); InvalidToken when forged, altered, malformed or expired."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise InvalidToken("missing or malformed install token")
    try:
        data = _serializer(key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken("the install token has expired: start again") from None
    except BadSignature:
        raise InvalidToken("the install token is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or data.get("p") not in ("install", "signin"):
        raise InvalidToken("the install token is not valid")
    return data["n"], data["p"]
