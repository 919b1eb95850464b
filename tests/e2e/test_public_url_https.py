"""A real shop's wc-auth sends its keys only to an https callback ("The callback_url needs to be
over SSL"). Outside development, orderbridge says so itself, at start-up and on /install, instead
of sending the merchant to the shop's error page."""

from __future__ import annotations

import dataclasses
import logging

import httpx
from sqlalchemy import func, select

from plugin.config import public_url_problem
from plugin.store import models
from tests.e2e.merchant_browser import Browser


def _grants(stack) -> int:
    with stack.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(models.AuthGrant))


def _wc_auth_requests(stack) -> int:
    return stack.woo_state.stats["wc_auth_keys_created"]


def test_install_with_an_http_public_url_outside_development_gets_a_page_naming_the_setting(stack):
    stack.ctx.settings = dataclasses.replace(stack.ctx.settings, env="staging")
    browser = Browser()
    try:
        install = browser.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
        signin = browser.post_form(f"{stack.app_url}/signin", browser.get(f"{stack.app_url}/signin"),
                                   {"store_url": stack.woo_url})
    finally:
        browser.close()
    for r in (install, signin):
        # not sent on to the shop (which would answer "needs to be over SSL"): a page of ours
        assert r.status_code == 409 and r.url.host == "127.0.0.1" and "/wc-auth/" not in r.url.path
        assert "ORDERBRIDGE_PUBLIC_URL" in r.text and stack.app_url in r.text and "https" in r.text
    assert _grants(stack) == 0 and _wc_auth_requests(stack) == 0


def test_install_with_an_https_public_url_goes_to_the_shop(stack):
    stack.ctx.settings = dataclasses.replace(stack.ctx.settings, env="staging",
                                             public_url="https://orderbridge.example")
    r = httpx.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    assert r.status_code == 303 and r.headers["location"].startswith(f"{stack.woo_url}/wc-auth/v1/authorize")
    assert "callback_url=https%3A%2F%2Forderbridge.example%2Finstall%2Fcallback" in r.headers["location"]


def test_development_runs_install_over_http(stack):
    assert stack.ctx.settings.env == "development"
    r = httpx.get(f"{stack.app_url}/install", params={"store_url": stack.woo_url})
    assert r.status_code == 303 and "/wc-auth/v1/authorize" in r.headers["location"]


def test_app_start_up_warns_about_an_http_public_url_outside_development(stack, caplog):
    from plugin.web import create_app
    cases = {("staging", "http://orderbridge.example"): True, ("production", "http://orderbridge.example"): True,
             ("production", "https://orderbridge.example"): False, ("development", "http://127.0.0.1:5000"): False}
    for (env, url), warns in cases.items():
        caplog.clear()
        settings = dataclasses.replace(stack.ctx.settings, env=env, public_url=url)
        with caplog.at_level(logging.WARNING):
            create_app(settings, context=stack.ctx)
        said = [r.getMessage() for r in caplog.records if "ORDERBRIDGE_PUBLIC_URL" in r.getMessage()]
        assert bool(said) is warns, (env, url, said)
        assert (public_url_problem(settings) is not None) is warns


def test_the_sandbox_shop_refuses_http_callbacks_unless_told_otherwise():
    from sandbox.woocommerce.state import WooState
    strict = WooState()
    try:
        assert strict.require_https_callback           # as every real WooCommerce
    finally:
        strict.close()


def test_worker_start_up_warns_about_an_http_public_url_outside_development(monkeypatch, caplog):
    from click.testing import CliRunner

    import plugin.jobs
    from plugin.cli import cli
    ran = []
    monkeypatch.setattr(plugin.jobs, "make_consumer", lambda workers: type("C", (), {"run": lambda self: ran.append(1)})())
    monkeypatch.setenv("ORDERBRIDGE_ENV", "staging")
    monkeypatch.setenv("ORDERBRIDGE_PUBLIC_URL", "http://orderbridge.example")
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(cli, ["worker", "--workers", "1"])
    assert result.exit_code == 0 and ran == [1]
    assert any("ORDERBRIDGE_PUBLIC_URL is http://orderbridge.example" in r.getMessage() for r in caplog.records)
