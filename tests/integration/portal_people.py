"""People who use the portal: staff users of a department, signed in through its pages."""

from __future__ import annotations

import re

import httpx

from tests import factories
from tests.integration.conftest import bearer
from tests.integration.portal_browser import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


async def staff_user(gateway: httpx.AsyncClient, admin_token: str, *roles: str,
                     department: str | None = None, name: str = "李娜") -> str:
    """A new staff user with `roles` (of `department`); their user name."""
    username = factories.username()
    response = await gateway.post("/api/authorization/users", headers=bearer(admin_token),
                                  json={"username": username, "display_name": name,
                                        "roles": list(roles), "department": department,
                                        "password": PASSWORD})
    assert response.status_code == 201, response.text
    return username


def form_token(page: httpx.Response) -> str:
    """The CSRF token a page put in its forms."""
    found = CSRF_FIELD.search(page.text)
    assert found, "the page has no form token"
    return found[1]


async def sign_in(browser: httpx.AsyncClient, username: str,
                  password: str = PASSWORD) -> httpx.Response:
    """Sign in through the login form as a browser would (its cookies kept in `browser`)."""
    page = await browser.get("/login")
    return await browser.post("/login", data={"username": username, "password": password,
                                              "next": "/", "csrf_token": form_token(page)})

