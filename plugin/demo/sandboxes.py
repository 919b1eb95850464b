"""Running a sandbox server from the `orderbridge sandbox` command."""

from __future__ import annotations

from sandbox.serving import run_until_stopped


def run_forever(which: str, host: str, port: int, latency_ms: int = 0, *, allow_http_callbacks: bool = False) -> None:
    if which == "bol":
        from sandbox.bol import create_app
        from sandbox.bol.state import BolState
        state = BolState()
        on_exit = None
    else:
        from sandbox.woocommerce import create_app
        from sandbox.woocommerce.state import WooState
        site = {"site_url": f"http://{host}:{port}"} if port else {}
        state = WooState(require_https_callback=not allow_http_callbacks, **site)
        on_exit = state.close
    if latency_ms:
        state.faults.latency_ms = latency_ms
    run_until_stopped(create_app(state), host, port, f"sandbox {which} on {{url}}", on_exit=on_exit)
