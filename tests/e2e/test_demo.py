"""`orderbridge run --exit` (what `make demo` runs): real processes for both sandboxes, the web
app and a worker; exit status 0 only when the loop converged (orders, cancellations both ways, a
return, every offer's stock, orders of two lines shipped in two parcels). On the postgres backend the demo itself runs on PostgreSQL + Redis."""

from __future__ import annotations

import os
import re
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


def closing_table(stdout: str) -> dict[str, str]:
    return {m[1].strip(): m[2].strip() for m in re.finditer(r"^\| (.+?) \| +(.+?) \|$", stdout, re.M)}


def test_demo_converges_and_exits_zero(demo_env):
    r = subprocess.run([sys.executable, "-m", "plugin.cli", "run", "--exit", "--orders", "12", "--grace", "3"],
                       capture_output=True, text=True, env=demo_env, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "converged" in r.stdout and "NOT converged" not in r.stdout
    rows = closing_table(r.stdout)
    assert rows["orders seen (bol.com)"] == "12"
    assert rows["created in shop"] == "12"
    assert rows["duplicates"] == "0"
    # 2 cancelled by buyers on bol.com, 2 by the merchant in the shop: 8 shipped, each once
    assert rows["shipped"] == rows["pushed (bol.com SUCCESS)"] == "8"
    # a few of them the merchant shipped in two parcels (one line with its own T&T, then the rest
    # on completion with another): bol.com has exactly those two shipments, each right
    planned, right = (int(n) for n in rows["partial shipments: orders / right"].split(" / "))
    assert planned >= 1 and right == planned
    assert rows["buyer cancellations: asked / shop / bol"] == "2 / 2 / 2"
    assert rows["shop cancellations: sent / confirmed"] == "2 / 2"
    assert rows["returns: registered / shop / handled"] == "1 / 1 / 1"
    assert int(rows["stock changes in the shop"]) > 12 and int(rows["stock updates sent to bol.com"]) >= 8
    assert rows["offers with the shop's stock"] == "8/8"
    assert rows["failed / error"] == "0" and rows["wrong T&T or transporter"] == "0"


def test_demo_that_cannot_converge_exits_non_zero(demo_env):
    # every shop call fails: nothing can be created, so the loop cannot converge in time
    r = subprocess.run([sys.executable, "-m", "plugin.cli", "run", "--exit", "--orders", "2", "--error-rate", "0.9",
                        "--timeout", "8"], capture_output=True, text=True, env=demo_env, timeout=120)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert "NOT converged" in r.stdout
