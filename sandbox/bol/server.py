"""Run the fake on a real socket: in-process for tests, or standalone via `python -m sandbox.bol`."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer

from sandbox.bol.app import create_app
from sandbox.bol.state import BolState
from sandbox.serving import QuietHandler, base_url, serve_app, stop_server

__all__ = ["QuietHandler", "base_url", "serve", "stop"]


def serve(host: str = "127.0.0.1", port: int = 0, state: BolState | None = None, *,
          quiet: bool = True) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start the sandbox in a daemon thread. Port 0 picks a free port: read `server.server_port`
    (or `base_url(server)`). Stop it with `stop(server, thread)`."""
    return serve_app(create_app(state), host, port, name="bol-sandbox", quiet=quiet)


def stop(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    stop_server(server, thread, timeout)
