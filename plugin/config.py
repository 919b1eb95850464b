"""Settings from ORDERBRIDGE_* environment variables (and DATABASE_URL / REDIS_URL), with
defaults that make the embedded run (SQLite + Huey's SQLite storage under var/) work on a bare
machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, *, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _json_env(name: str) -> dict | None:
    value = _env(name)
    if value is None:
        return None
    import json
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError(f"{name} is not JSON: {value[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{name} must be a JSON object")
    return parsed


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    redis_url: str | None
    huey_path: Path
    secret_key: str | None
    public_url: str
    env: str
    webhook_max_bytes: int
    poll_seconds: int
    shop_poll_seconds: int
    grace_seconds: int
    outbox_retry_seconds: int
    in_flight_seconds: int
    # Store URLs (and every outgoing call to a shop) may point at loopback, private or
    # link-local addresses only in dev/sandbox mode: in production that would be an SSRF hole.
    allow_private_urls: bool
    # A disconnected shop's data is kept this long, then purged.
    retention_days: int
    # The fee per billable seller account per calendar month (Channable's rule), as text.
    price_per_account: str
    currency: str
    # Admin sign-in sessions (signed cookies) last this long.
    session_hours: int
    # Sandbox defaults for a new bol.com connection's API (dev mode only; `make run` sets them).
    bol_api_url: str | None
    bol_token_url: str | None
    # Client-side marketplace rate limits (adapters/ratelimit.py): shared through Redis when
    # REDIS_URL is set, under this key prefix (several deployments may share one Redis).
    ratelimit_prefix: str = "orderbridge"
    # Per bol endpoint group {group: [rate per second, burst]} overriding adapters.bol.client's
    # budgets, e.g. '{"orders": [5, 10]}' ("default" applies to every group not named).
    bol_rate_limits: dict | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        var_dir = Path(_env("ORDERBRIDGE_VAR_DIR", "var")).resolve()
        values = dict(
            var_dir=var_dir,
            database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'orderbridge.db'}"),
            redis_url=_env("REDIS_URL"),
            huey_path=Path(_env("ORDERBRIDGE_HUEY_PATH", str(var_dir / "huey.db"))),
            secret_key=_env("ORDERBRIDGE_SECRET_KEY"),
            public_url=_env("ORDERBRIDGE_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
            env=_env("ORDERBRIDGE_ENV", "development"),
            webhook_max_bytes=int(_env("ORDERBRIDGE_WEBHOOK_MAX_BYTES", str(1024 * 1024))),
            poll_seconds=int(_env("ORDERBRIDGE_POLL_SECONDS", "300")),
            shop_poll_seconds=int(_env("ORDERBRIDGE_SHOP_POLL_SECONDS", "300")),
            grace_seconds=int(_env("ORDERBRIDGE_GRACE_SECONDS", str(3 * 3600))),
            outbox_retry_seconds=int(_env("ORDERBRIDGE_OUTBOX_RETRY_SECONDS", "60")),
            # How long a request that got no answer may still run on the other side (PHP's
            # max_execution_time on shops is 30-120 s). Nothing is looked up or sent again sooner.
            in_flight_seconds=int(_env("ORDERBRIDGE_IN_FLIGHT_SECONDS", "120")),
        )
        env = values["env"]
        values.update(
            allow_private_urls=_flag("ORDERBRIDGE_ALLOW_PRIVATE_URLS", default=env != "production"),
            retention_days=int(_env("ORDERBRIDGE_RETENTION_DAYS", "90")),
            price_per_account=_env("ORDERBRIDGE_PRICE_PER_ACCOUNT", "29.00"),
            currency=_env("ORDERBRIDGE_CURRENCY", "EUR"),
            session_hours=int(_env("ORDERBRIDGE_SESSION_HOURS", "12")),
            bol_api_url=_env("ORDERBRIDGE_BOL_API_URL"),
            bol_token_url=_env("ORDERBRIDGE_BOL_TOKEN_URL"),
            ratelimit_prefix=_env("ORDERBRIDGE_RATELIMIT_PREFIX", _env("ORDERBRIDGE_HUEY_NAME", "orderbridge")),
            bol_rate_limits=_json_env("ORDERBRIDGE_BOL_RATE_LIMITS"),
        )
        values.update(overrides)
        return cls(**values)


def public_url_problem(settings: Settings) -> str | None:
    """Why no real shop can install orderbridge at this public URL, or None. WooCommerce's wc-auth
    refuses any callback_url that does not start with https:// ("The callback_url needs to be
    over SSL"), and the merchant would land on that error with no word from us. Development runs
    (the sandbox shop on plain-http loopback) are exempt."""
    if settings.env == "development" or settings.public_url.lower().startswith("https://"):
        return None
    return (f"ORDERBRIDGE_PUBLIC_URL is {settings.public_url}, not https: WooCommerce refuses to install "
            "an app whose callback is not https (\"The callback_url needs to be over SSL\"); set "
            "ORDERBRIDGE_PUBLIC_URL to the https address of orderbridge (e.g. behind a TLS proxy)")


def warn_if_public_url_insecure(settings: Settings) -> None:
    """At start-up of a web or worker process: say it once in the log, before a merchant finds out."""
    problem = public_url_problem(settings)
    if problem:
        import logging
        logging.getLogger("orderbridge").warning("%s", problem)
