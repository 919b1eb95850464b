"""Launching orderbridge and both sandboxes as real processes, in one of two topologies.

- ``embedded``: SQLite in ``var_dir`` + Huey's SQLite storage; one ``orderbridge serve`` and one
  ``orderbridge worker`` process (what ``orderbridge run`` plays by default).
- ``prod``: PostgreSQL (DATABASE_URL) + Redis (REDIS_URL) from the environment; gunicorn with
  ``web_workers`` workers on ``plugin.wsgi:app`` and ``consumers`` separate ``orderbridge worker``
  processes. Each launch runs in a private PostgreSQL schema and a private Huey queue name (and
  rate-limit key prefix) on Redis, dropped at the end, so runs never see each other's rows.
  Nothing relies on sharing a machine: the secret key travels in the environment, not in a file.

The sandboxes always run in their own processes (``orderbridge sandbox ... --latency-ms``).

    with launched("prod", var_dir=tmp) as stack:
        stack.ctx          # a SyncContext in this process on the same database and queue
        stack.urls["web"]  # the web app (gunicorn's address in prod)
        stack.kill("worker-1"); stack.restart("worker-1")
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from plugin.demo.processes import ProcessGroup, free_port

TOPOLOGIES = ("embedded", "prod")
# An injected sandbox timeout finishes its request after this long (clients give up at 10-15 s);
# the in-flight horizon is set just above it, so nothing is looked up or sent again sooner.
TIMEOUT_SLEEP = 12
GUNICORN_THREADS = 8


class TopologyError(RuntimeError):
    """A launch that cannot start (one line for the person who asked for it)."""


@dataclass
class Launched:
    topology: str                 # "embedded" | "prod"
    urls: dict[str, str]          # {"bol": ..., "woocommerce": ..., "web": ...}
    ctx: object                   # plugin.sync.context.SyncContext, in the caller's process
    group: ProcessGroup
    env: dict                     # the environment every process was started with

    def workers(self) -> list[str]:
        """The names of the Huey consumer processes ("worker-1".."worker-N")."""
        return sorted(name for name in self.group.procs if name.startswith("worker-"))

    def pids(self, role: str) -> list[int]:
        """role "web": the processes serving HTTP (gunicorn's workers in prod, not the master;
        the serve process in embedded); "worker": the Huey consumers; "sandbox": both sandboxes."""
        procs = self.group.procs
        if role == "web":
            web = procs["web"]
            if self.topology == "prod":
                import psutil
                try:
                    return sorted(child.pid for child in psutil.Process(web.pid).children()
                                  if child.status() != psutil.STATUS_ZOMBIE)
                except psutil.NoSuchProcess:
                    return []
            return [web.pid] if web.poll() is None else []
        if role == "worker":
            return [procs[name].pid for name in self.workers() if procs[name].poll() is None]
        if role == "sandbox":
            return [p.pid for name, p in procs.items() if name.startswith("sandbox-") and p.poll() is None]
        raise ValueError(f"unknown role {role!r}")

    def kill(self, name: str) -> None:
        """SIGKILL a process group member ("web", "worker-2", "sandbox-bol", ...)."""
        self.group.kill(name)

    def restart(self, name: str) -> None:
        """Start a member again with the same command."""
        self.group.restart(name)

    def kill_pid(self, pid: int) -> None:
        """SIGKILL one process by pid (a gunicorn worker: the master starts a new one)."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def launched(topology: str = "embedded", *, var_dir: Path, latency_ms: int = 0, web_workers: int = 2,
             consumers: int = 2, consumer_threads: int = 16, env: dict | None = None,
             ports: dict[str, int] | None = None, verbose: bool = False) -> Iterator[Launched]:
    """Start the sandboxes and orderbridge, yield a Launched, stop everything on exit.

    `env` overrides the environment of every process (and of this one while launched); `ports`
    gives preferred ports {"bol", "woocommerce", "web"} (taken when free, else any free port)."""
    if topology not in TOPOLOGIES:
        raise TopologyError(f"unknown topology {topology!r} (one of {', '.join(TOPOLOGIES)})")
    var_dir = Path(var_dir).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    preferred = ports or {}
    port = {name: free_port(preferred.get(name, 0)) for name in ("bol", "woocommerce", "web")}
    urls = {name: f"http://127.0.0.1:{p}" for name, p in port.items()}
    overrides = dict(env or {})
    run_env = _environment(topology, var_dir, urls, overrides)
    cleanup = _Cleanup()
    saved_env = dict(os.environ)
    group = ProcessGroup(var_dir / "logs", run_env)
    ctx = None
    try:
        if topology == "prod":
            cleanup.schema = _fresh_schema(run_env)
        _enter_environment(run_env)
        from plugin.store.schema import upgrade
        upgrade(run_env["DATABASE_URL"])
        v = ("-v",) if verbose else ()
        group.start("sandbox-bol", "sandbox", "bol", "--port", str(port["bol"]), "--latency-ms", str(latency_ms))
        # The demo's web app speaks plain http on loopback, which a real shop's wc-auth refuses.
        group.start("sandbox-woocommerce", "sandbox", "woocommerce", "--port", str(port["woocommerce"]),
                    "--latency-ms", str(latency_ms), "--allow-http-callbacks")
        if topology == "prod":
            group.start_argv("web", [sys.executable, "-m", "gunicorn", "--workers", str(web_workers),
                                     "--worker-class", "gthread", "--threads", str(GUNICORN_THREADS),
                                     "--bind", f"127.0.0.1:{port['web']}", "--timeout", "60",
                                     "--graceful-timeout", "5", "plugin.wsgi:app"])
            for i in range(1, consumers + 1):
                group.start(f"worker-{i}", *v, "worker", "--workers", str(consumer_threads))
        else:
            group.start("web", *v, "serve", "--port", str(port["web"]))
            group.start("worker-1", *v, "worker", "--workers", str(consumer_threads))
        group.wait_http("sandbox-bol", urls["bol"] + "/_sandbox/stats")
        group.wait_http("sandbox-woocommerce", urls["woocommerce"] + "/_sandbox/stats")
        group.wait_http("web", urls["web"] + "/healthz", timeout=30.0)
        ctx = _caller_context(cleanup)
        yield Launched(topology=topology, urls=urls, ctx=ctx, group=group, env=run_env)
    finally:
        group.stop()
        if ctx is not None:
            from plugin.runtime import set_context
            set_context(None)
        cleanup.run(ctx, run_env)
        os.environ.clear()
        os.environ.update(saved_env)


# ------------------------------------------------------------------ the environment
def _environment(topology: str, var_dir: Path, urls: dict, overrides: dict) -> dict:
    env = dict(os.environ)
    env.update({
        "ORDERBRIDGE_VAR_DIR": str(var_dir),
        "ORDERBRIDGE_PUBLIC_URL": urls["web"],
        # a bol.com seller account added in the admin talks to the sandbox
        "ORDERBRIDGE_BOL_API_URL": urls["bol"],
        "ORDERBRIDGE_BOL_TOKEN_URL": urls["bol"] + "/token",
        "ORDERBRIDGE_OUTBOX_RETRY_SECONDS": "5",
        "ORDERBRIDGE_IN_FLIGHT_SECONDS": str(TIMEOUT_SLEEP + 3),
        "PYTHONUNBUFFERED": "1",
    })
    if topology == "embedded":
        env.pop("REDIS_URL", None)
        env["DATABASE_URL"] = f"sqlite:///{var_dir / 'orderbridge.db'}"
        env["ORDERBRIDGE_HUEY_PATH"] = str(var_dir / "huey.db")
        env.update(overrides)
        return env
    env.update(overrides)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise TopologyError(f"the prod topology needs {' and '.join(missing)} "
                            "(PostgreSQL and Redis, e.g. postgresql://user@host/db and redis://host:6379/0)")
    if not env["DATABASE_URL"].startswith("postgresql"):
        raise TopologyError("the prod topology needs DATABASE_URL to be PostgreSQL (postgresql://...)")
    run_id = secrets.token_hex(4)
    # a private queue (and rate-limit keys) on a possibly shared Redis
    env["ORDERBRIDGE_HUEY_NAME"] = overrides.get("ORDERBRIDGE_HUEY_NAME") or f"orderbridge-{run_id}"
    env["ORDERBRIDGE_RATELIMIT_PREFIX"] = overrides.get("ORDERBRIDGE_RATELIMIT_PREFIX") or env["ORDERBRIDGE_HUEY_NAME"]
    if not env.get("ORDERBRIDGE_SECRET_KEY"):
        # several hosts share the key through their environment, never through a file
        from cryptography.fernet import Fernet
        env["ORDERBRIDGE_SECRET_KEY"] = Fernet.generate_key().decode()
    env["ORDERBRIDGE_RUN_SCHEMA"] = f"ob_run_{run_id}"
    return env


def _enter_environment(env: dict) -> None:
    os.environ.clear()
    os.environ.update(env)


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _fresh_schema(env: dict) -> str:
    """A private schema for this launch; DATABASE_URL (of every process) points into it."""
    import psycopg
    schema = env.pop("ORDERBRIDGE_RUN_SCHEMA")
    base = env["DATABASE_URL"]
    try:
        with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                             connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        raise TopologyError(f"cannot use DATABASE_URL: {str(exc).strip().splitlines()[0]}") from None
    env["ORDERBRIDGE_BASE_DATABASE_URL"] = base
    env["DATABASE_URL"] = _with_search_path(base, schema)
    return schema


def _caller_context(cleanup: _Cleanup):
    """This process's SyncContext on the launched database and queue. plugin.jobs builds its Huey
    at import from the environment of that moment: point it at this launch's storage."""
    from plugin import jobs
    from plugin.config import Settings
    from plugin.runtime import build_context, set_context
    settings = Settings.from_env()
    fresh = _huey_for(settings)
    cleanup.huey = (jobs.huey.storage, jobs.huey.name)
    jobs.huey.storage, jobs.huey.name = fresh.storage, fresh.name
    ctx = build_context(settings, jobs.HueyQueue())
    set_context(ctx)
    return ctx


def _huey_for(settings):
    """The Huey the launched workers consume (same storage and queue name as plugin.jobs makes)."""
    from plugin.jobs import make_huey
    return make_huey(settings, os.environ.get("ORDERBRIDGE_HUEY_NAME", "orderbridge"))


class _Cleanup:
    def __init__(self) -> None:
        self.schema: str | None = None
        self.huey: tuple | None = None

    def run(self, ctx, env: dict) -> None:
        from plugin import jobs
        if self.huey is not None:
            launched_storage = jobs.huey.storage
            jobs.huey.storage, jobs.huey.name = self.huey
            if env.get("REDIS_URL"):
                _quietly(launched_storage.flush_all)
                _quietly(lambda: _drop_redis_keys(env))
        if ctx is not None:
            _quietly(ctx.db.dispose)
        if self.schema and not os.environ.get("ORDERBRIDGE_KEEP_SCHEMA"):
            _quietly(lambda: _drop_schema(env["ORDERBRIDGE_BASE_DATABASE_URL"], self.schema))


def _drop_schema(url: str, schema: str) -> None:
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                         connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _drop_redis_keys(env: dict) -> None:
    import redis
    client = redis.Redis.from_url(env["REDIS_URL"])
    prefix = env.get("ORDERBRIDGE_RATELIMIT_PREFIX")
    if prefix:
        keys = list(client.scan_iter(f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)


def _quietly(call) -> None:
    try:
        call()
    except Exception:   # noqa: BLE001 - cleanup must not hide the run's own outcome
        pass
