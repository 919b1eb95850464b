"""python -m sandbox.woocommerce --port 8081 [--host 127.0.0.1] [--key ck_x --secret cs_y]
[--wc-version 9.9.5|7.8.2] [--delivery-delay 10-60]"""

from __future__ import annotations

import argparse

from sandbox.serving import run_until_stopped

from .app import create_app
from .state import PROFILES, WooState, parse_delay


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.woocommerce", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--site-url", help="the shop's home URL (default http://HOST:PORT)")
    parser.add_argument("--key", help="register this consumer key at start")
    parser.add_argument("--secret", help="its consumer secret")
    parser.add_argument("--allow-http-callbacks", action="store_true",
                        help="accept a plain-http wc-auth callback_url (real WooCommerce never does)")
    parser.add_argument("--wc-version", choices=sorted(PROFILES), default="9.9.5",
                        help="the WooCommerce release to play (7.8.2: WordPress 6.1.9, no HPOS)")
    parser.add_argument("--delivery-delay", default=None, metavar="LOW-HIGH",
                        help="seconds each webhook delivery waits, as WP-Cron's queue on a real shop (e.g. 10-60)")
    args = parser.parse_args(argv)

    site_url = args.site_url
    if not site_url and args.host not in ("0.0.0.0", "::"):
        site_url = f"http://{args.host}:{args.port}"
    try:
        delay = parse_delay(args.delivery_delay)
    except ValueError as exc:
        parser.error(str(exc))
    state = WooState(seed=args.seed, site_url=site_url, require_https_callback=not args.allow_http_callbacks,
                     wc_version=args.wc_version, delivery_delay=delay)
    if args.key and args.secret:
        state.add_key(args.key, args.secret)
    run_until_stopped(create_app(state), args.host, args.port,
                      "WooCommerce sandbox on {url}/wp-json/wc/v3/ (controls under /_sandbox/)", on_exit=state.close)


if __name__ == "__main__":
    main()
