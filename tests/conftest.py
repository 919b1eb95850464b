"""Test set-up shared by every level.

The backend is chosen before any orderbridge module is imported (Huey is configured at import):
- default: a fresh SQLite database and Huey SQLite file in a temporary directory;
- ORDERBRIDGE_TEST_BACKEND=postgres: a fresh PostgreSQL database created on DATABASE_URL's server
  (dropped at the end) and a Huey queue of its own on REDIS_URL.
"""

from __future__ import annotations

import os
import tempfile
import uuid

_TMP = tempfile.mkdtemp(prefix="orderbridge-test-")
_RUN = uuid.uuid4().hex[:8]
BACKEND = os.environ.get("ORDERBRIDGE_TEST_BACKEND", "sqlite")

os.environ["ORDERBRIDGE_VAR_DIR"] = _TMP
os.environ["ORDERBRIDGE_HUEY_PATH"] = os.path.join(_TMP, "huey.db")
os.environ["ORDERBRIDGE_HUEY_NAME"] = f"orderbridge-test-{_RUN}"
os.environ.setdefault("ORDERBRIDGE_SECRET_KEY", "q1L7v1cW3qv9mJ1mZ2O7p8t8b5pW0n6xk3YfZ8J2Zc4=")
_PG_ADMIN_URL = None
if BACKEND == "postgres":
    _PG_ADMIN_URL = os.environ["DATABASE_URL"]
    _PG_DB = f"orderbridge_test_{_RUN}"
    import psycopg
    with psycopg.connect(_PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{_PG_DB}"')
    base, _, _ = _PG_ADMIN_URL.rpartition("/")
    os.environ["DATABASE_URL"] = f"{base}/{_PG_DB}"
    assert os.environ.get("REDIS_URL"), "the postgres backend runs with Redis: set REDIS_URL"
else:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/orderbridge.db"

import pytest  # noqa: E402


def pytest_report_header(config):
    return f"orderbridge backend: {BACKEND} ({os.environ['DATABASE_URL'].split('@')[-1]})"


def pytest_sessionfinish(session, exitstatus):
    if BACKEND == "postgres" and _PG_ADMIN_URL:
        try:
            from plugin.runtime import get_context
            get_context().db.dispose()
        except Exception:  # noqa: BLE001
            pass
        import psycopg
        with psycopg.connect(_PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{_PG_DB}" WITH (FORCE)')
        try:
            from plugin.jobs import huey
            huey.storage.flush_all()
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ["DATABASE_URL"]
