"""Run the sandbox on a real socket: in a background thread (tests, demos) or in the foreground
(`python -m sandbox.woocommerce`)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .state import WooState


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:   # tests do not want a line per request
        pass


def serve(host: str = "127.0.0.1", port: int = 0, state: WooState | None = None, *,
          quiet: bool = True) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start a threaded server in a daemon thread; port 0 picks a free port (server.server_port).

    The shop's site URL (webhook Source header, OAuth base URL, links) becomes
    http://host:port unless the state already has one or host is a wildcard address."""
    state = state or WooState()
    server = make_server(host, port, create_app(state), threaded=True,
                         request_handler=_QuietHandler if quiet else WSGIRequestHandler)
    if host not in ("0.0.0.0", "::", ""):
        state.set_site_url(f"http://{host}:{server.server_port}", only_if_unset=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"woo-sandbox-{server.server_port}", daemon=True)
    thread.start()
    return server, thread


def base_url(server: BaseWSGIServer) -> str:
    return f"http://{server.host}:{server.server_port}"


def stop(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    """Stop accepting requests, close the socket, and stop the delivery worker."""
    server.shutdown()
    server.server_close()
    thread.join(timeout)
    state = server.app.extensions.get("woo_state")
    if state is not None:
        state.close()
