"""A one-minute chaos run (`orderbridge chaos`, the short version of `make chaos`): the demo on the
production topology (PostgreSQL + Redis, gunicorn with 2 workers, 2 Huey consumers) under 5xx,
timeouts, 429 bursts, redelivered and reordered webhooks and a SIGKILL every 2-5 s; then the
sandboxes' own records must show 0 duplicates and 0 losses (orders the merchant shipped in two
parcels included: exactly their two shipments on bol.com, each with its items and T&T).

Runs on the PostgreSQL + Redis backend (`make test-pg`, part of `make test` whenever DATABASE_URL
and REDIS_URL are set, as on CI). It is skipped on the SQLite backend on purpose: the point is the
production topology (several web and worker processes sharing one database, one queue and one
rate limit), which SQLite and Huey's SQLite storage are not built for; the embedded topology's
crash safety is covered by test_crash_safety.py and the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import BACKEND

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(BACKEND != "postgres", reason="the chaos run needs PostgreSQL + Redis "
                                 "(ORDERBRIDGE_TEST_BACKEND=postgres with DATABASE_URL and REDIS_URL)")]


def rows(stdout: str) -> dict[str, str]:
    return {m[1].strip(): m[2].strip() for m in re.finditer(r"^\| (.+?) \| +(.+?) \|$", stdout, re.M)}


def test_a_minute_of_chaos_loses_and_duplicates_nothing(tmp_path):
    env = {**os.environ, "ORDERBRIDGE_VAR_DIR": str(tmp_path)}
    env.pop("ORDERBRIDGE_HUEY_PATH", None)
    r = subprocess.run([sys.executable, "-m", "plugin.cli", "chaos", "--orders", "30", "--duration", "45",
                        "--settle", "150", "--seed", "11"],
                       capture_output=True, text=True, env=env, timeout=420)
    table = rows(r.stdout)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-3000:]
    assert table["orders"] == "30"
    assert table["duplicates"] == "0"
    assert table["losses"] == "0"
    # orders shipped in two parcels under the same faults and kills: exactly their two shipments
    planned, right = (int(n) for n in table["partial shipments: orders / right"].split(" / "))
    assert planned >= 1 and right == planned
    assert int(table["kills"].split()[0]) >= 5        # a kill every 2-5 s for 45 s
    assert int(table["faults: bol.com 5xx"]) > 0 and int(table["faults: shop 5xx"]) > 0
    assert "PASS" in r.stdout
