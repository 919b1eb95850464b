"""`python -m sandbox.bol --port 8081 [--host 127.0.0.1] [--seller id:secret --orders 20 --offers 10]`"""

from __future__ import annotations

import argparse

from sandbox.bol.app import create_app
from sandbox.bol.state import BolState
from sandbox.serving import run_until_stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bol",
                                     description="Fake bol.com Retailer API v10 and Offers API v11 (test use only).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--process-delay", type=float, default=0.5)
    parser.add_argument("--seller", action="append", default=[], metavar="CLIENT_ID:SECRET",
                        help="create a seller up front (repeatable)")
    parser.add_argument("--orders", type=int, default=0, help="random open FBR orders per --seller")
    parser.add_argument("--offers", type=int, default=0,
                        help="random offers per --seller (then the --orders are for those offers)")
    args = parser.parse_args(argv)

    state = BolState(seed=args.seed, process_delay=args.process_delay)
    for entry in args.seller:
        client_id, _, secret = entry.partition(":")
        if not client_id or not secret:
            parser.error("--seller must look like CLIENT_ID:SECRET")
        state.add_seller(client_id, secret)
        if args.offers:
            state.add_random_offers(client_id, args.offers)
        if args.orders:
            state.add_random_orders(client_id, args.orders, from_offers=bool(args.offers))

    run_until_stopped(create_app(state), args.host, args.port,
                      "bol sandbox on {url} (token URL /token, control /_sandbox/)")


if __name__ == "__main__":
    main()
