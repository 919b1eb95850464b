"""Starting and stopping the demo's processes: both sandboxes, the web app and the workers, each
a real OS process talking over loopback sockets, as in production. Every member keeps its
command, so the chaos supervisor can SIGKILL it and start it again the same way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port(preferred: int = 0) -> int:
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


@dataclass
class ProcessGroup:
    log_dir: Path
    env: dict
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """Start `orderbridge ARGS...` as member `name`."""
        return self.start_argv(name, [sys.executable, "-m", "plugin.cli", *args])

    def start_argv(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start any command as member `name` (its own session, output into logs/<name>.log)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs[name] = proc
        self.commands[name] = list(argv)
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL the member and everything in its session (a crash: nothing is cleaned up)."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def restart(self, name: str) -> subprocess.Popen:
        """Start the member again with the same command (after a kill or an exit)."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            self.kill(name)
        return self.start_argv(name, self.commands[name])

    def wait_http(self, name: str, url: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / (name + '.log')}")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer at {url} within {timeout:.0f} s")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / (name + '.log')}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
