"""Running a sandbox app on a real loopback socket, in a background thread: shared by both
sandboxes, the e2e stack and the benchmarks."""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access-log line per request: tests and demos make thousands of calls."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def serve_app(app: Flask, host: str, port: int, *, name: str,
              quiet: bool = True) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start a threaded server in a daemon thread; port 0 picks a free port (server.server_port)."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"{name}:{server.server_port}", daemon=True)
    thread.start()
    return server, thread


def base_url(server: BaseWSGIServer) -> str:
    return f"http://{server.host}:{server.server_port}"


def stop_server(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout)


def run_until_stopped(app, host: str, port: int, banner: str, *, on_exit=None, quiet: bool = False) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (how `orderbridge run` stops its children).
    `banner` may use {url}; it is printed once the port is known."""
    import signal
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler if quiet else None)
    print(banner.format(url=f"http://{host}:{server.server_port}"), flush=True)

    def _stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if on_exit is not None:
            on_exit()
