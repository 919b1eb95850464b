"""Running a sandbox server from the `orderbridge sandbox` command."""

from __future__ import annotations

from sandbox.serving import run_until_stopped


def run_forever(which: str, host: str, port: int, latency_ms: int = 0, *, allow_http_callbacks: bool = False,
                wc_version: str = "9.9.5", delivery_delay: tuple[float, float] | None = None) -> None:
    if which == "bol":
        from sandbox.bol import create_app
        from sandbox.bol.state import BolState
        state = BolState()
        on_exit = None
    else:
        from sandbox.woocommerce import create_app
        from sandbox.woocommerce.state import WooState
        site = {"site_url": f"http://{host}:{port}"} if port else {}
        state = WooState(require_https_callback=not allow_http_callbacks, wc_version=wc_version,
                         delivery_delay=delivery_delay, **site)
        on_exit = state.close
    if latency_ms:
        state.faults.latency_ms = latency_ms
    run_until_stopped(create_app(state), host, port, f"sandbox {which} on {{url}}", on_exit=on_exit)
