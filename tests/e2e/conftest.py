"""The whole system on loopback (plugin.demo.stack): both sandbox servers, the web app on a real
socket, and a real Huey consumer (SQLite storage, or Redis on the postgres backend)."""

from __future__ import annotations

import pytest

from plugin.demo.stack import running_stack


@pytest.fixture
def stack(database_url):
    with running_stack(outbox_retry_seconds=2, in_flight_seconds=3) as s:
        yield s
