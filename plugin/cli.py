"""The `orderbridge` command. A person's mistake gets one line on stderr and exit status 2;
nothing else is changed."""

from __future__ import annotations

import logging
import os
import sys

import click


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"orderbridge: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what the jobs do.")
def cli(verbose: bool) -> None:
    """orderbridge: marketplace orders into your webshop, shipments back, exactly once."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------- database
@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations (SQLite under var/ or DATABASE_URL)."""
    from plugin.config import Settings
    from plugin.store.schema import upgrade
    settings = Settings.from_env()
    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {_safe_url(settings.database_url)} is at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Roll the schema back to REVISION (e.g. base)."""
    from plugin.config import Settings
    from plugin.store.schema import downgrade
    downgrade(Settings.from_env().database_url, revision)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------- processes
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
def serve(host: str, port: int) -> None:
    """Serve the web app (webhooks, health). In production run gunicorn 'plugin.wsgi:app'."""
    from werkzeug.serving import make_server

    from plugin.web import create_app
    server = make_server(host, port, create_app(), threaded=True)
    click.echo(f"orderbridge web on http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads; the jobs wait on HTTP, so many threads per core are fine.")
def worker(workers: int) -> None:
    """Run a Huey consumer (any number of them, on any number of hosts)."""
    from plugin.config import Settings, warn_if_public_url_insecure
    from plugin.jobs import make_consumer
    warn_if_public_url_insecure(Settings.from_env())
    make_consumer(workers).run()


def _delay_range(_ctx, _param, value: str):
    from sandbox.woocommerce.state import parse_delay
    try:
        return parse_delay(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("which", type=click.Choice(["bol", "woocommerce"]))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--latency-ms", default=0, type=click.IntRange(0, 60000), help="Added to every answer.")
@click.option("--allow-http-callbacks", is_flag=True,
              help="WooCommerce sandbox: accept a plain-http install callback (real shops refuse it).")
@click.option("--wc-version", type=click.Choice(["9.9.5", "7.8.2"]), default="9.9.5", show_default=True,
              help="WooCommerce sandbox: the release it plays (7.8.2 runs on WordPress 6.1.9, without HPOS).")
@click.option("--delivery-delay", default="0", show_default=True, metavar="LOW-HIGH", callback=_delay_range,
              help="WooCommerce sandbox: seconds each webhook waits, as on WP-Cron (e.g. 10-60).")
def sandbox(which: str, host: str, port: int, latency_ms: int, allow_http_callbacks: bool, wc_version: str,
            delivery_delay: tuple[float, float] | None) -> None:
    """Run a sandbox marketplace or shop server (test and demo only)."""
    from plugin.demo.sandboxes import run_forever
    run_forever(which, host, port, latency_ms, allow_http_callbacks=allow_http_callbacks, wc_version=wc_version,
                delivery_delay=delivery_delay)


# ---------------------------------------------------------------- set-up
@cli.command()
@click.option("--shop-url", required=True, help="The WooCommerce shop's base URL.")
@click.option("--shop-name", default=None)
@click.option("--shop-key", required=True, envvar="ORDERBRIDGE_SHOP_KEY", help="WooCommerce consumer key.")
@click.option("--shop-secret", required=True, envvar="ORDERBRIDGE_SHOP_SECRET", help="WooCommerce consumer secret.")
@click.option("--bol-client-id", required=True, envvar="ORDERBRIDGE_BOL_CLIENT_ID")
@click.option("--bol-client-secret", required=True, envvar="ORDERBRIDGE_BOL_CLIENT_SECRET")
@click.option("--bol-api-url", default=None, help="Override for a sandbox, e.g. http://127.0.0.1:8801")
@click.option("--bol-token-url", default=None)
@click.option("--connection-name", default="bol.com")
@click.option("--poll-seconds", default=300, show_default=True, type=int)
@click.option("--default-transporter", default=None, help="bol.com transporter code, e.g. TNT")
@click.option("--no-check", is_flag=True, help="Do not call the marketplace to check the credentials.")
def connect(shop_url, shop_name, shop_key, shop_secret, bol_client_id, bol_client_secret, bol_api_url,
            bol_token_url, connection_name, poll_seconds, default_transporter, no_check) -> None:
    """Register a shop and a bol.com seller account (until the install flow exists)."""
    from plugin.sync.connect import ConnectError, add_connection, register_shop
    ctx = _context()
    settings = {"transporters": {"default": default_transporter}} if default_transporter else {}
    try:
        shop_id = register_shop(ctx, {"name": shop_name or shop_url, "url": shop_url, "consumer_key": shop_key,
                                      "consumer_secret": shop_secret, "settings": settings})
        conn_id = add_connection(ctx, shop_id, {
            "marketplace": "bol", "name": connection_name, "poll_seconds": poll_seconds,
            "credentials": {"client_id": bol_client_id, "client_secret": bol_client_secret},
            "api_url": bol_api_url, "token_url": bol_token_url}, check=not no_check)
    except ConnectError as exc:
        raise UserError(str(exc)) from exc
    click.echo(f"shop {shop_id} connected to bol.com seller account (connection {conn_id})")


@cli.group()
def sync() -> None:
    """Run the sync by hand."""


@sync.command("once")
def sync_once() -> None:
    """Poll every connection and shop now and do all resulting work in this process (for cron)."""
    from plugin.inline import run_once
    counts = run_once(_context_inline())
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


# ---------------------------------------------------------------- the demo
@cli.command()
@click.option("-n", "--orders", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--pace", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds the merchant waits between acting on orders.")
@click.option("--grace", default=15.0, show_default=True, type=click.FloatRange(1, 3 * 3600),
              help="T&T grace period in seconds (production default: 3 hours).")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0, 5000),
              help="Network latency the sandboxes add to every answer.")
@click.option("--error-rate", default=0.0, show_default=True, type=click.FloatRange(0, 0.9),
              help="Fraction of sandbox API calls answered 5xx.")
@click.option("--timeout-rate", default=0.0, show_default=True, type=click.FloatRange(0, 0.5),
              help="Fraction of sandbox API calls that hang past the client timeout.")
@click.option("--rate-limit-burst", default=0, show_default=True, type=click.IntRange(0, 10000),
              help="Answer this many bol.com calls with 429 + Retry-After.")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--timeout", "deadline", default=None, type=click.FloatRange(5, 3600),
              help="Give up (and fail) after this many seconds [default: 110, or 300 with faults].")
@click.option("--exit", "exit_after", is_flag=True, help="Exit after the table (what `make demo` does).")
@click.option("--topology", type=click.Choice(["embedded", "prod"]), default="embedded", show_default=True,
              help="embedded: SQLite + one web and one worker process; prod: PostgreSQL + Redis from "
                   "DATABASE_URL / REDIS_URL, gunicorn with 2 workers and 2 Huey consumers.")
def run(**options) -> None:
    """Play the whole loop on the sandboxes with a live display, then keep serving until Ctrl-C."""
    from plugin.demo.run import DemoOptions, play
    from plugin.demo.topology import TopologyError
    try:
        ok = play(DemoOptions(**options))
    except TopologyError as exc:
        raise UserError(str(exc)) from None
    sys.exit(0 if ok else 1)


@cli.command()
@click.option("-n", "--orders", default=200, show_default=True, type=click.IntRange(1, 100000))
@click.option("--duration", default=180.0, show_default=True, type=click.FloatRange(5, 3600),
              help="Seconds of injected faults and SIGKILLs before quiescing.")
@click.option("--settle", default=240.0, show_default=True, type=click.FloatRange(10, 3600),
              help="After the chaos: how long the quiet loop may take to finish the open work.")
@click.option("--seed", default=7, show_default=True, type=int)
def chaos(orders: int, duration: float, settle: float, seed: int) -> None:
    """The demo on the prod topology (DATABASE_URL, REDIS_URL) under 5xx, timeouts, 429 bursts,
    redelivered and reordered webhooks and random SIGKILLs; exit 1 on any loss or duplicate."""
    from plugin.demo.chaos import ChaosOptions, play_chaos
    from plugin.demo.topology import TopologyError
    try:
        outcome = play_chaos(ChaosOptions(orders=orders, duration=duration, settle=settle, seed=seed))
    except TopologyError as exc:
        raise UserError(str(exc)) from None
    sys.exit(0 if outcome.ok else 1)


def _context():
    from plugin.runtime import get_context
    return get_context()


def _context_inline():
    from plugin.config import Settings
    from plugin.inline import InlineQueue
    from plugin.runtime import build_context
    queue = InlineQueue()
    ctx = build_context(Settings.from_env(), queue)
    queue.bind(ctx)
    return ctx


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        if os.environ.get("ORDERBRIDGE_DEBUG"):
            raise
        click.echo(f"orderbridge: {exc.__class__.__name__}: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
