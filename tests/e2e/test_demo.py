"""`orderbridge run --exit` (what `make demo` runs): real processes for both sandboxes, the web
app and a worker; exit status 0 only when the loop converged. On the postgres backend the demo
itself runs on PostgreSQL + Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import BACKEND

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_env(tmp_path):
    env = {**os.environ, "ORDERBRIDGE_VAR_DIR": str(tmp_path)}
    env.pop("ORDERBRIDGE_HUEY_PATH", None)
    if BACKEND != "postgres":
        yield env
        return
    import psycopg
    admin = os.environ["DATABASE_URL"]
    name = f"orderbridge_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    env.update(ORDERBRIDGE_DEMO_DATABASE_URL=admin.rpartition("/")[0] + f"/{name}", ORDERBRIDGE_DEMO_REDIS="1",
               ORDERBRIDGE_HUEY_NAME=f"orderbridge-demo-{name}")
    try:
        yield env
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_demo_converges_and_exits_zero(demo_env):
    r = subprocess.run([sys.executable, "-m", "plugin.cli", "run", "--exit", "--orders", "12", "--grace", "3"],
                       capture_output=True, text=True, env=demo_env, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "converged" in r.stdout
    assert "| duplicates                |          0 |" in r.stdout
    assert "| orders seen (bol.com)     |         12 |" in r.stdout


def test_demo_that_cannot_converge_exits_non_zero(demo_env):
    # every shop call fails: nothing can be created, so the loop cannot converge in time
    r = subprocess.run([sys.executable, "-m", "plugin.cli", "run", "--exit", "--orders", "2", "--error-rate", "0.9",
                        "--timeout", "8"], capture_output=True, text=True, env=demo_env, timeout=120)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert "NOT converged" in r.stdout
