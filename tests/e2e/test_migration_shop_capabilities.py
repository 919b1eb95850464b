"""Migration 0005 (what the shop's software has, on the shop row) goes up and down on the backend
under test, keeps the shops it finds, and leaves the schema as the models declare it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plugin.store.db import make_engine
from plugin.store.models import Base
from plugin.store.schema import downgrade, upgrade

pytestmark = pytest.mark.e2e


def _columns_and_shops(url: str) -> tuple[set[str], list[str], list]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("shops")}
            urls = [row[0] for row in connection.execute(sa.text("SELECT url FROM shops ORDER BY id"))]
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata)
            return columns, urls, diff
    finally:
        engine.dispose()


def _add_shop(url: str) -> None:
    """A shop row as the schema before 0005 has it (the NOT NULL columns filled by type)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            table = sa.Table("shops", sa.MetaData(), autoload_with=connection)
            values = {c.name: _filler(c) for c in table.columns if not c.nullable and c.name not in ("id", "url")}
            values["status"] = "active"      # one the shop machine knows: migration 0006 checks it
            connection.execute(table.insert().values(**values, url="https://old.example"))
    finally:
        engine.dispose()


def _filler(column: sa.Column):
    """A value for a NOT NULL column of a shop row, by its type."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.DateTime):
        return datetime.now(UTC)
    return "x"


def test_0005_adds_the_shops_capabilities_and_goes_back(database_url):
    upgrade(database_url)
    downgrade(database_url, "base")          # empty, whatever earlier tests left
    upgrade(database_url, "0004")
    _add_shop(database_url)
    columns, urls, _ = _columns_and_shops(database_url)
    assert "capabilities" not in columns
    upgrade(database_url, "0005")
    columns, urls, _ = _columns_and_shops(database_url)
    assert "capabilities" in columns and urls == ["https://old.example"]
    downgrade(database_url, "0004")
    columns, urls, _ = _columns_and_shops(database_url)
    assert "capabilities" not in columns and urls == ["https://old.example"]
    upgrade(database_url)
    assert _columns_and_shops(database_url)[2] == []      # the models declare exactly this schema
    downgrade(database_url, "base")
    upgrade(database_url)
