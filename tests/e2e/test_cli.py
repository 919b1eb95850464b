"""The `orderbridge` command as a person uses it: one-line errors, non-zero exits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plugin.store.schema import downgrade, upgrade


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "plugin.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_help_lists_the_commands():
    r = _run("--help")
    assert r.returncode == 0
    for command in ("run", "serve", "worker", "db", "sandbox", "connect", "sync"):
        assert command in r.stdout


def test_run_help_shows_the_knobs():
    r = _run("run", "--help")
    for option in ("--orders", "--pace", "--grace", "--error-rate", "--timeout-rate", "--rate-limit-burst"):
        assert option in r.stdout


@pytest.mark.parametrize("args, message", [
    (["connect", "--shop-url", "not a url", "--shop-key", "k", "--shop-secret", "s",
      "--bol-client-id", "i", "--bol-client-secret", "c", "--no-check"], "url: must be an http(s) URL"),
    (["connect", "--shop-url", "http://127.0.0.1:1", "--shop-key", "k", "--shop-secret", "s",
      "--bol-client-id", "i", "--bol-client-secret", "c", "--poll-seconds", "1", "--no-check"],
     "the shop refused the webhook set-up"),
    (["run", "--orders", "0"], "Invalid value"),
])
def test_bad_input_is_one_line_and_non_zero(args, message, database_url):
    upgrade(database_url)
    r = _run(*args)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len([line for line in r.stderr.strip().splitlines() if line.startswith("orderbridge:")]) <= 1


def test_db_upgrade_and_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = _run("db", "upgrade", env={"DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    assert "is at head" in r.stdout
    downgrade(url, "base")
    upgrade(url)
