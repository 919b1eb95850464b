"""Every schema change is a migration, tested up and down on the backend under test (SQLite, or
PostgreSQL with ORDERBRIDGE_TEST_BACKEND=postgres): the models and the migrated schema agree."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plugin.store.db import make_engine
from plugin.store.models import Base
from plugin.store.schema import downgrade, upgrade

pytestmark = pytest.mark.e2e


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def test_the_models_match_the_migrations_and_0003_goes_up_and_down(database_url):
    upgrade(database_url)
    assert _diff(database_url) == []
    downgrade(database_url, "0002")
    upgrade(database_url)
    assert _diff(database_url) == []
    downgrade(database_url, "base")
    upgrade(database_url)
    assert _diff(database_url) == []
