"""Running a sandbox server from the `orderbridge sandbox` command."""

from __future__ import annotations

import signal
import threading


def run_forever(which: str, host: str, port: int, latency_ms: int = 0) -> None:
    if which == "bol":
        from sandbox.bol.server import serve
        from sandbox.bol.state import BolState
        state = BolState()
    else:
        from sandbox.woocommerce.server import serve
        from sandbox.woocommerce.state import WooState
        state = WooState(site_url=f"http://{host}:{port}") if port else WooState()
    if latency_ms:
        state.faults.latency_ms = latency_ms
    server, thread = serve(host, port, state)
    print(f"sandbox {which} on http://{host}:{server.server_port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
