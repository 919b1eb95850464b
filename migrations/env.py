"""Alembic environment. The URL comes from the caller's config (orderbridge db upgrade), else
from Settings (DATABASE_URL or the embedded SQLite file)."""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context

from plugin.config import Settings
from plugin.store.db import make_engine
from plugin.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with _sqlite_foreign_keys_off(connection), context.begin_transaction():
        context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection) -> Iterator[None]:
    """SQLite: foreign keys off on this connection while it migrates, as SQLite's own recipe for
    changing a table says. Batch mode copies a table and drops the old one, and with foreign keys
    on that DROP deletes every row of it first, cascading to every table that references it (a
    batch of `shops` emptied connections, orders and shipments). The pragma does nothing inside a
    transaction, so it is set on the driver's connection before one begins (SQLAlchemy's own
    execute would begin one); a connection handed in mid-transaction keeps foreign keys on, and a
    migration that recreates a referenced table refuses to run then (see 0006)."""
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    except BaseException:
        if connection.in_transaction():
            connection.rollback()
        raise
    else:
        if connection.in_transaction():
            connection.commit()     # alembic committed each migration: what is left is reads
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
