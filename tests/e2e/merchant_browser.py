"""A merchant's browser over plain HTTP: follows redirects one by one (so tests can stop at any
step), keeps cookies, and fills the shop's real wc-auth pages (login form, Approve link) the way
a person would. The Playwright suite (tests/browser) does the same in Chromium."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                               "fields": {}})
        elif tag == "input" and self.forms and a.get("name") and a.get("type") not in ("submit", "checkbox"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif tag == "a" and a.get("id") and a.get("href"):
            self.links[a["id"]] = unescape(a["href"])


def parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class Browser:
    def __init__(self):
        self.http = httpx.Client(follow_redirects=False, timeout=30)
        self.history: list[httpx.Response] = []

    def close(self) -> None:
        self.http.close()

    def go(self, method: str, url: str, *, max_hops: int = 10, **kwargs) -> httpx.Response:
        """One request, then follow redirects as a browser does (303/302 -> GET)."""
        response = self.http.request(method, url, **kwargs)
        self.history.append(response)
        for _ in range(max_hops):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(str(response.url), response.headers["location"])
            response = self.http.get(url)
            self.history.append(response)
        raise AssertionError("too many redirects")

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.go("GET", url, **kwargs)

    def csrf(self, page: httpx.Response) -> str:
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post_form(self, url: str, page: httpx.Response, data: dict | None = None) -> httpx.Response:
        """A form post from `page`, with that page's CSRF token."""
        return self.go("POST", url, data={"csrf_token": self.csrf(page), **(data or {})})

    # ------------------------------------------------------------------ the shop's pages
    def approve_in_shop(self, page: httpx.Response, user: str = "admin", password: str = "admin") -> httpx.Response:
        """On the shop's wc-auth login page: log in; then Approve. Returns where it ends."""
        if 'name="woocommerce-login-nonce"' in page.text:
            form = parse(page.text).forms[0]
            fields = {**form["fields"], "username": user, "password": password, "login": "Login"}
            page = self.go("POST", urljoin(str(page.url), form["action"]) if form["action"] else str(page.url),
                           data=fields)
        approve = parse(page.text).links.get("wc-auth-approve")
        assert approve, f"no Approve link on the shop's page: {page.status_code} {page.text[:300]}"
        return self.get(urljoin(str(page.url), approve))

    def deny_in_shop(self, page: httpx.Response, user: str = "admin", password: str = "admin") -> httpx.Response:
        if 'name="woocommerce-login-nonce"' in page.text:
            form = parse(page.text).forms[0]
            fields = {**form["fields"], "username": user, "password": password, "login": "Login"}
            page = self.go("POST", str(page.url), data=fields)
        return self.get(urljoin(str(page.url), parse(page.text).links["wc-auth-deny"]))

    def install(self, app_url: str, store_url: str) -> httpx.Response:
        return self.approve_in_shop(self.get(f"{app_url}/install", params={"store_url": store_url}))
