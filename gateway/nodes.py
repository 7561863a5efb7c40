"""Calls across nodes through the gateways (F2, G2).

Out: a department's user or system calls its own gateway at `/nodes/<node>/api/<service>/…`
with its usual token. The gateway checks that token, asks its identity service for a node
token that carries the caller (department, roles, who), and sends the call to the linked
node's gateway at `/federation/relay/<service>/…`. Data calls are also recorded in this
node's audit chain, so both ends hold the access.

In: at `/federation/relay/<service>/…` the gateway has its identity service exchange the
other node's token (verified with that node's published keys) for a token of this node that
names the other node's department with no more than the roles a remote department may hold;
the call then goes to the service like any other `/api/…` call, so the provider's own rules,
grants, audit and deadlines apply unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy import ServiceProxy
from shared.linked_nodes import LinkedNodeDirectory, NodeTokens
from shared.problems import Forbidden, NotFound, ProblemError, Unauthorized
from shared.web import send_problem, send_problem_for

log = logging.getLogger(__name__)

OUT = re.compile(r"^/nodes/(?P<node>[0-9]{6}-(?:internal|external))/api/(?P<rest>.+)$")
RELAY_PREFIX = "/federation/relay/"
DATA_CALL = re.compile(r"^exchange/entries/(?P<code>[0-9]+/[0-9]{6})/(?P<what>records?)$")


def is_outbound(scope: Scope) -> bool:
    return str(scope["path"]).startswith("/nodes/")


def is_inbound(scope: Scope) -> bool:
    return str(scope["path"]).startswith(RELAY_PREFIX)


class ToOtherNode:
    """`/nodes/<node>/api/…`: this node's caller, relayed to a linked node."""

    def __init__(self, *, proxy: ServiceProxy, gateways: LinkedNodeDirectory,
                 tokens: NodeTokens, audit: ForwardedAudit) -> None:
        self.proxy, self.gateways, self.tokens, self.audit = proxy, gateways, tokens, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            match = OUT.match(str(scope["path"]))
            if match is None:
                raise NotFound("Call another node as /nodes/<node id>/api/<service>/….")
            claims = await self.proxy.admit(scope)
            if not claims.department:
                raise Forbidden("Only a department's staff or systems call other nodes.",
                                reason="no_department")
            target = await self.gateways.gateway_of(match["node"])
            if target is None:
                raise NotFound(f"{match['node']} is not linked with this node.",
                               reason="node_not_linked")
            token = await self.tokens.for_node(match["node"], on_behalf_of=claims)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        except httpx.HTTPError as error:
            await _identity_unavailable(send, scope, error)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{target}{RELAY_PREFIX}{match['rest']}" + (f"?{query}" if query else "")
        answered: dict[str, Any] = {}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                answered["headers"] = {key.lower(): value for key, value in message["headers"]}
            await send(message)

        await self.proxy.forward(_with_token(scope, token), receive, observed, url)
        data_call = DATA_CALL.match(match["rest"])
        if data_call and scope["method"] == "GET" and "status" in answered:
            await self._audit(scope, claims.sub, claims.department, match["node"],
                              data_call, answered)

    async def _audit(self, scope: Scope, actor: str, department: str, node: str,
                     data_call: re.Match[str], answered: dict[str, Any]) -> None:
        """The consumer's end of the audit (E5): who here used which entry on which node."""
        status = int(answered["status"])
        count = answered["headers"].get(b"x-record-count")
        query = {name: values[0] for name, values in parse_qs(
            scope.get("query_string", b"").decode("latin-1")).items()}
        await self.audit.add({
            "kind": "query" if data_call["what"] == "record" else "download",
            "consumer": department, "entry_code": data_call["code"], "provider_node": node,
            "purpose": query.get("purpose"), "status": status, "actor": actor,
            "record_count": int(count) if count else int(status == 200 and
                                                          data_call["what"] == "record")})


class ForwardedAudit:
    """Relayed data calls, written to this node's audit chain in batches: one call to the
    exchange per batch, not per access. A batch waits at most `delay` seconds; the
    provider's node holds its own record of each access meanwhile."""

    def __init__(self, http: httpx.AsyncClient, exchange_url: str | None,
                 delay: float = 0.1, batch: int = 500) -> None:
        self.http, self.exchange_url, self.delay, self.batch = http, exchange_url, delay, batch
        self._pending: list[dict[str, Any]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def add(self, access: dict[str, Any]) -> None:
        if self.exchange_url is None:
            return
        self._pending.append(access)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.delay)
        while self._pending:
            sending, self._pending = self._pending[:self.batch], self._pending[self.batch:]
            try:
                response = await self.http.post(
                    f"{self.exchange_url}/internal/forwarded-accesses", json=sending)
                response.raise_for_status()
            except httpx.HTTPError as error:
                log.error("consumer-side audit entries of relayed calls were not written",
                          extra={"entries": len(sending), "error": repr(error)})


class FromOtherNode:
    """`/federation/relay/<service>/…`: a linked node's caller, as a local `/api/…` call."""

    def __init__(self, *, api: ASGIApp, http: httpx.AsyncClient, identity_url: str) -> None:
        self.api, self.http, self.identity_url = api, http, identity_url.rstrip("/")
        # The calling node reuses its token for a while: so do we with what it was
        # exchanged for, rather than sign (and then verify) a new token on every call.
        self._exchanged: dict[str, tuple[str, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            token = await self._local_token(scope)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        except httpx.HTTPError as error:
            await _identity_unavailable(send, scope, error)
            return
        below = str(scope["path"])[len(RELAY_PREFIX) - 1:]
        raw = (scope.get("raw_path") or scope["path"].encode())[len(RELAY_PREFIX) - 1:]
        await self.api({**_with_token(scope, token), "path": "/api" + below,
                        "raw_path": b"/api" + raw, "root_path": ""}, receive, send)

    async def _local_token(self, scope: Scope) -> str:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("A linked node's token is required.", reason="token_missing")
        local, good_until = self._exchanged.get(token, ("", 0.0))
        if time.monotonic() < good_until:
            return local
        response = await self.http.post(f"{self.identity_url}/internal/remote-tokens",
                                        json={"token": token.strip()})
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = {}
            refusal = Forbidden if response.status_code == 403 else Unauthorized
            raise refusal(body.get("detail", "The node token was refused."),
                          reason=body.get("reason", "node_token_refused"))
        answer = response.json()
        if len(self._exchanged) > 10_000:
            self._exchanged.clear()
        self._exchanged[token] = (str(answer["access_token"]),
                                  time.monotonic() + answer["expires_in"] * 0.5)
        return str(answer["access_token"])


async def _identity_unavailable(send: Send, scope: Scope, error: Exception) -> None:
    log.error("the identity service did not answer a federation call", extra={
        "error": repr(error)})
    await send_problem_for(send, 502, "bad-gateway", "The node's identity service did not "
                           "answer", f"{type(error).__name__} asking for a node token.",
                           scope["path"])


def _with_token(scope: Scope, token: str) -> Scope:
    headers = [(key, value) for key, value in scope["headers"] if key != b"authorization"]
    return {**scope, "headers": [*headers, (b"authorization", f"Bearer {token}".encode())]}
