"""Run the sandbox on a real socket: in a background thread (tests, demos) or in the foreground
(`python -m sandbox.woocommerce`)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer

from sandbox.serving import base_url, serve_app, stop_server

from .app import create_app
from .state import WooState

__all__ = ["base_url", "serve", "stop"]


def serve(host: str = "127.0.0.1", port: int = 0, state: WooState | None = None, *,
          quiet: bool = True) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start a threaded server in a daemon thread; port 0 picks a free port (server.server_port).

    The shop's site URL (webhook Source header, OAuth base URL, links) becomes
    http://host:port unless the state already has one or host is a wildcard address."""
    state = state or WooState()
    server, thread = serve_app(create_app(state), host, port, name="woo-sandbox", quiet=quiet)
    if host not in ("0.0.0.0", "::", ""):
        state.set_site_url(f"http://{host}:{server.server_port}", only_if_unset=True)
    return server, thread


def stop(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    """Stop accepting requests, close the socket, and stop the delivery worker."""
    stop_server(server, thread, timeout)
    state = server.app.extensions.get("woo_state")
    if state is not None:
        state.close()
