"""Builds the one SyncContext a process uses (web or worker), from Settings."""

from __future__ import annotations

import threading

from plugin.config import Settings
from plugin.registry import AdapterRegistry
from plugin.store.db import Database
from plugin.store.secrets import SecretBox, load_key
from plugin.store.unit_of_work import SqlUnitOfWork
from plugin.sync.context import SyncContext
from plugin.sync.ports import Enqueuer

_lock = threading.Lock()
_context: SyncContext | None = None


def build_context(settings: Settings, queue: Enqueuer) -> SyncContext:
    from adapters.ratelimit import make_limiter
    box = SecretBox(load_key(settings.secret_key, settings.var_dir, production=settings.production))
    # one limiter per process; with REDIS_URL every process of the deployment shares its budgets
    limiter = make_limiter(settings.redis_url, settings.ratelimit_prefix)
    db = Database(settings.database_url)
    return SyncContext(db=db, box=box, settings=settings, adapters=AdapterRegistry(box, settings, limiter=limiter),
                       queue=queue, unit_of_work=lambda: SqlUnitOfWork(db))


def get_context() -> SyncContext:
    """The process-wide context, built on first use from the environment."""
    global _context
    with _lock:
        if _context is None:
            from plugin.jobs import HueyQueue
            _context = build_context(Settings.from_env(), HueyQueue())
        return _context


def set_context(context: SyncContext | None) -> None:
    """For the web app and tests that build their own context."""
    global _context
    with _lock:
        _context = context
