"""The dependency rule, checked on the source: domain imports nothing of ours; adapters import
neither Flask nor the store/web/jobs (only the ports' neutral data); sync never reaches a concrete
adapter (it gets them through the registry)."""

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
