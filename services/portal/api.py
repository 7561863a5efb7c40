"""The node's API as the portal calls it: through the gateway, as the signed-in person.

Every page that shows or changes something asks the API with the person's own token, so the
portal never shows or does more than that person may: the rules stay in the services. What
the API refuses comes back as an exception the pages turn into a message (`exceptions`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import httpx

from services.portal.exceptions import (
    ApiProblem,
    ApiUnavailable,
    NotPermitted,
    SignInNeeded,
)

JSON = Any
# Only these of the caller's request travel on to the API: the address the gateway saw
# (believed there only from a proxy it trusts) and the request id, for the logs.
PASSED_ON = ("x-forwarded-for", "x-request-id")


class NodeApi:
    """One node's API reached at its gateway; `token` None calls what the public may."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, *, token: str | None,
                  params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> JSON:
        """The JSON body of `GET path`; a problem raises (see `_checked`)."""
        return _checked(await self._send("GET", path, token=token, params=params))

    async def post(self, path: str, *, token: str | None, json: JSON = None) -> JSON:
        return _checked(await self._send("POST", path, token=token, json=json))

    async def put(self, path: str, *, token: str | None, json: JSON = None) -> JSON:
        return _checked(await self._send("PUT", path, token=token, json=json))

    async def patch(self, path: str, *, token: str | None, json: JSON = None) -> JSON:
        return _checked(await self._send("PATCH", path, token=token, json=json))

    async def upload(self, path: str, *, token: str | None, content: AsyncIterable[bytes],
                     media_type: str, seconds: float) -> JSON:
        """`POST path` with a file as its body (a workbook), passed on as it is read;
        waiting `seconds` (longer than a page's call) for the API's work on the whole file."""
        return _checked(await self._send("POST", path, token=token, content=content,
                                         headers={"Content-Type": media_type},
                                         timeout=seconds))

    async def download(self, path: str, *, token: str | None,
                       params: dict[str, Any] | None = None) -> httpx.Response:
        """`GET path` as a file (a PDF, say): the whole answer, once its status is checked."""
        response = await self._send("GET", path, token=token, params=params)
        if response.status_code >= 300:
            _checked(response)  # raises what the status means
        return response

    async def login(self, username: str, password: str,
                    caller: dict[str, str]) -> dict[str, Any]:
        """The token response for a staff login; 401/429 come back as ApiProblem, not as
        SignInNeeded: a refused login is an answer to show on the form."""
        response = await self._send("POST", "/auth/login", token=None, headers=caller,
                                    json={"username": username, "password": password})
        if response.status_code == 200:
            return response.json()
        raise _problem(response)

    async def _send(self, method: str, path: str, *, token: str | None,
                    headers: dict[str, str] | None = None, **options: Any) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            return await self.http.request(method, path, headers=sent, **options)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"{type(error).__name__} calling {path}") from error


def caller_headers(headers: dict[str, str] | Any) -> dict[str, str]:
    """What of an incoming request's headers an API call carries on (see PASSED_ON)."""
    return {name: headers[name] for name in PASSED_ON if name in headers}


def _checked(response: httpx.Response) -> JSON:
    if response.status_code < 300:
        return response.json() if response.content else None
    if response.status_code == 401:
        raise SignInNeeded(expired=True)
    if response.status_code == 403:
        body = _body(response)
        raise NotPermitted(body.get("detail", ""), required_roles=body.get("required_roles"))
    raise _problem(response)


def _problem(response: httpx.Response) -> Exception:
    if response.status_code >= 500 and response.status_code != 503:
        return ApiUnavailable(f"{response.status_code} from {response.request.url.path}")
    return ApiProblem.from_body(response.status_code, _body(response))


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
