"""Run the fake on a real socket: in-process for tests, or standalone via `python -m sandbox.bol`."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.bol.app import create_app
from sandbox.bol.state import BolState


class QuietHandler(WSGIRequestHandler):
    """Drop werkzeug's per-request access log (tests make hundreds of calls)."""

    def log_request(self, code="-", size="-") -> None:
        pass


def serve(host: str = "127.0.0.1", port: int = 0, state: BolState | None = None, *,
          quiet: bool = True) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start the sandbox in a daemon thread. Port 0 picks a free port: read `server.server_port`
    (or `base_url(server)`). Stop it with `stop(server, thread)`."""
    server = make_server(host, port, create_app(state), threaded=True,
                         request_handler=QuietHandler if quiet else None)
    # A short poll interval makes shutdown() return quickly (the default 0.5 s adds up in tests).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"bol-sandbox:{server.server_port}", daemon=True)
    thread.start()
    return server, thread


def base_url(server: BaseWSGIServer) -> str:
    return f"http://{server.host}:{server.server_port}"


def stop(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout)
