"""The dependency rule, checked on the source: domain imports nothing of ours; adapters import
neither Flask nor the store/web/jobs (only the ports' neutral data); sync never reaches a concrete
adapter (it gets them through the registry); and the use cases move off SQL, one module at a
time: a module of plugin/sync not in STILL_ON_SQL may import neither SQLAlchemy nor the store's
models, and a module that no longer does must leave the list (it only ever shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
            elif isinstance(node, ast.Import):
                found.extend((str(path.relative_to(ROOT)), alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize("folder, forbidden", [
    ("plugin/domain", lambda m: (m.startswith(("plugin", "adapters", "sandbox")) and not m.startswith("plugin.domain"))),
    ("adapters", lambda m: m.startswith(("flask", "plugin.store", "plugin.web", "plugin.jobs", "sandbox"))
     or (m.startswith("plugin.sync") and m != "plugin.sync.ports")),
    ("plugin/sync", lambda m: m.startswith(("adapters.bol", "adapters.woocommerce", "flask", "huey", "plugin.web",
                                            "plugin.jobs", "sandbox"))),
])
def test_dependency_rule(folder, forbidden):
    offenders = [(path, module) for path, module in _imports(folder) if forbidden(module)]
    assert offenders == []


# The use cases that still talk SQL to the store (sessions, models) instead of through named
# operations. New modules never join this list; the outbox runner (outbox.py) never was on it.
STILL_ON_SQL = frozenset({
    "apply_shop_change.py", "cancellations.py", "connect.py", "context.py", "create_in_shop.py", "dispatch.py",
    "grace_sweep.py", "handle_manually.py", "import_orders.py", "install.py", "line_products.py",
    "manage_connections.py", "process_delivery.py", "push_shipment.py",
    "reconcile_stock.py", "resend.py", "returns.py", "shop_keys.py",
    "sync_stock.py", "trashed_in_shop.py",
})


def _on_sql(module: str) -> bool:
    return module.startswith("sqlalchemy") or module in ("plugin.store.models", "plugin.store.db")


def _sql_importers() -> set[str]:
    found = set()
    for path, module in _imports("plugin/sync"):
        if _on_sql(module):
            found.add(Path(path).name)
    for path in (ROOT / "plugin/sync").glob("*.py"):   # `from plugin.store import models`
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "plugin.store" and any(
                    alias.name in ("models", "db") for alias in node.names):
                found.add(path.name)
    return found


def test_no_use_case_outside_the_shrinking_list_talks_sql():
    assert _sql_importers() - STILL_ON_SQL == set()


def test_a_use_case_that_left_sql_leaves_the_list():
    assert STILL_ON_SQL - _sql_importers() == set()
