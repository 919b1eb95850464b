"""The manifest names exactly the routes the app serves, the topics it registers and the scope
it asks for: an app store that reads it sends merchants to real pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from plugin import __name__ as _  # noqa: F401 - the package must import
from plugin.sync.poll_shop import WEBHOOK_TOPICS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def _app():
    from plugin.web import create_app
    return create_app()


def _served(app, path: str, method: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path, method=method)
    except Exception:  # noqa: BLE001 - NotFound / MethodNotAllowed
        return False
    return True


def test_manifest_fields_are_complete():
    for key in ("name", "version", "description", "scopes", "webhook_topics", "urls", "support"):
        assert MANIFEST.get(key), key
    for key in ("install", "auth_callback", "settings", "webhook"):
        assert MANIFEST["urls"].get(key), key
    assert MANIFEST["support"]["url"].startswith("https://") and "@" in MANIFEST["support"]["email"]


def test_manifest_version_is_the_package_version():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(MANIFEST["version"])}"$', pyproject, re.M)


def test_every_manifest_url_is_a_route_with_the_right_method():
    app = _app()
    methods = {"auth_callback": "POST", "webhook": "POST"}
    for name, template in MANIFEST["urls"].items():
        path = template.split("?")[0].replace("{shop_public_id}", "abc123")
        assert _served(app, path, methods.get(name, "GET")), f"{name}: {path} is not served"


def test_install_url_takes_the_store_url_parameter():
    assert "store_url={store_url}" in MANIFEST["urls"]["install"]


def test_topics_and_scope_are_what_the_app_registers_and_asks_for():
    assert tuple(MANIFEST["webhook_topics"]) == WEBHOOK_TOPICS
    from plugin.web.auth import APP_NAME
    assert MANIFEST["scopes"] == ["read_write"] and MANIFEST["name"] == APP_NAME
