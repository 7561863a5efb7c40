"""The online query without the framework in between (E2's throughput target).

`GET /entries/{front}/{number}/record` is the call a node answers most. This ASGI layer
answers it directly: the same token check, role, parameter rules and `QueryService.answer`
as the documented FastAPI route, minus routing, dependency solving and response validation,
which cost more than the query itself. Every other request passes through untouched.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from services.exchange.query import QueryService
from shared.auth import parse_bearer
from shared.contracts import Role
from shared.contracts.catalog import PermittedUse
from shared.problems import Forbidden, ProblemError, Unprocessable
from shared.tokens import TokenVerifier
from shared.web import send_problem

ROUTE = re.compile(r"^/entries/([0-9]{1,20})/([0-9]{6})/record$")
ROUTE_TEMPLATE = "/entries/{front}/{number}/record"  # as the documented route names it
ITEM_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
JSON_HEADERS = [(b"content-type", b"application/json")]


def is_query(scope: Scope) -> bool:
    return scope["method"] == "GET" and ROUTE.match(scope["path"]) is not None


class QueryFastPath:
    """Answers the calls `is_query` picks (see `shared.web.RouteAhead`)."""

    def __init__(self, *, queries: QueryService, verifier: TokenVerifier) -> None:
        self.queries, self.verifier = queries, verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = ROUTE.match(scope["path"])
        assert match is not None
        try:
            body = await self._answer(scope, f"{match[1]}/{match[2]}")
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            *JSON_HEADERS, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, code: str) -> bytes:
        headers = dict(scope["headers"])
        principal = await self.verifier.verify(
            parse_bearer(headers.get(b"authorization", b"").decode("latin-1")))
        if not principal.has_role(Role.data_operator):
            raise Forbidden("This operation needs one of the roles: data_operator.",
                            reason="missing_role", required_roles=[Role.data_operator])
        params = parse_qs(scope["query_string"].decode("utf-8", "replace"))
        keys = params.get("key", [])
        if not 1 <= len(keys) <= 10:
            raise Unprocessable("Give the key: 1 to 10 values of the entry's key items.",
                                field="key")
        try:
            purpose = PermittedUse(params.get("purpose", [""])[0])
        except ValueError:
            raise Unprocessable(f"purpose must be one of {', '.join(PermittedUse)}.",
                                field="purpose") from None
        items = params.get("items", [])
        if any(not ITEM_CODE.match(item) for item in items):
            raise Unprocessable("Item codes are 1–50 letters, digits, _ . -.", field="items")
        return await self.queries.answer(principal, code, keys, purpose, items)
