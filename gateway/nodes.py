"""Calls across nodes through the gateways (F2, F5, G2).

Out: a department's user or system calls its own gateway at `/nodes/<node>/api/<service>/…`
with its usual token, for any node of the network. The gateway checks that token, asks its
identity service for the first hop on the way and a node token for it that carries the
caller (department, roles, who) and, beyond a linked node, the destination; and sends the
call to that hop's gateway at `/federation/relay/<service>/…`. Data calls are also recorded
in this node's audit chain, so both ends hold the access.

On the way: a gateway that receives a call for a node further on has its identity service
verify the token (the previous hop's, with that node's published keys), apply the zone rules
at this hop (F3) and sign a token for the next hop with this node added to the path; the
call goes on unchanged otherwise. A hop that does not answer is named in a 502 or 504.

In: at the destination the identity service exchanges the token for one of this node that
names the other node's department, with no more than the roles a remote department may hold,
and the whole path; the call then goes to the service like any other `/api/…` call, so the
provider's own rules, grants, audit and deadlines apply unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy import ServiceProxy, Unanswered
from shared.linked_nodes import NodeTokens
from shared.problems import (
    PROBLEM_BASE,
    Forbidden,
    NotFound,
    ProblemError,
    Unauthorized,
    problem_body,
)
from shared.tokens import unverified_claims
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
    """`/nodes/<node>/api/…`: this node's caller, relayed to another node of the network
    through the first hop on the way (F2, F5)."""

    def __init__(self, *, proxy: ServiceProxy, tokens: NodeTokens,
                 audit: ForwardedAudit) -> None:
        self.proxy, self.tokens, self.audit = proxy, tokens, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            match = OUT.match(str(scope["path"]))
            if match is None:
                raise NotFound("Call another node as /nodes/<node id>/api/<service>/….")
            claims = await self.proxy.admit(scope)
            if not claims.department:
                raise Forbidden("Only a department's staff or systems call other nodes.",
                                reason="no_department")
            route = await self.tokens.route_to(match["node"], on_behalf_of=claims)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        except httpx.HTTPError as error:
            await _identity_unavailable(send, scope, error)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{route.gateway_url}{RELAY_PREFIX}{match['rest']}" + (f"?{query}" if query else "")
        answered: dict[str, Any] = {}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                answered["headers"] = {key.lower(): value for key, value in message["headers"]}
            await send(message)

        await self.proxy.relay(_with_token(scope, route.token), receive, observed, url,
                               unanswered=_hop_down(route.next_hop, match["node"]))
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
                 delay: float = 0.5, batch: int = 500) -> None:
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


@dataclass(frozen=True)
class Relayed:
    """What a call another node relayed here goes on with: the token, and, for a node
    further on, the next hop and its gateway."""

    token: str
    next_hop: str | None
    gateway_url: str | None


class RelayTokens:
    """The identity service's word on a token a neighbour sent (F5): verified, the zone
    rules applied at this hop, and what the call goes on with. The calling node reuses its
    token for a while: so do we with the answer, rather than sign (and then verify) a new
    token on every call."""

    def __init__(self, http: httpx.AsyncClient, identity_url: str) -> None:
        self.http, self.identity_url = http, identity_url.rstrip("/")
        self._answers: dict[tuple[str, bool], tuple[Relayed, float]] = {}

    async def relayed(self, token: str, *, delegated: bool) -> Relayed:
        answer, good_until = self._answers.get((token, delegated), (None, 0.0))
        if answer is not None and time.monotonic() < good_until:
            return answer
        response = await self.http.post(f"{self.identity_url}/internal/remote-tokens",
                                        json={"token": token, "delegated": delegated})
        if response.status_code >= 500:
            response.raise_for_status()  # the identity service's failure, not a refusal
        if response.status_code != 200:
            raise _refusal(response)
        body = response.json()
        answer = Relayed(str(body["access_token"]), body.get("next_hop"), body.get("gateway_url"))
        if len(self._answers) > 10_000:
            self._answers.clear()
        self._answers[(token, delegated)] = (answer, time.monotonic() + body["expires_in"] * 0.5)
        return answer


class FromOtherNode:
    """`/federation/relay/<service>/…`: a department's call another node relayed here; for
    this node, a local `/api/…` call; for a node further on, relayed on to the next hop."""

    def __init__(self, *, api: ASGIApp, proxy: ServiceProxy, relays: RelayTokens) -> None:
        self.api, self.proxy, self.relays = api, proxy, relays

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            relayed = await self.relays.relayed(_bearer_token(scope), delegated=True)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        except httpx.HTTPError as error:
            await _identity_unavailable(send, scope, error)
            return
        if relayed.next_hop is not None:
            await _relay_on(self.proxy, scope, receive, send, relayed)
            return
        below = str(scope["path"])[len(RELAY_PREFIX) - 1:]
        raw = (scope.get("raw_path") or scope["path"].encode())[len(RELAY_PREFIX) - 1:]
        await self.api({**_with_token(scope, relayed.token), "path": "/api" + below,
                        "raw_path": b"/api" + raw, "root_path": ""}, receive, send)


class OnwardNodeCalls:
    """`/federation/<service>/…` with a token for a node further on (a subscription's
    changes for a department two nodes away, F5): relayed on to the next hop; every other
    node call goes to the service, which checks the token itself."""

    def __init__(self, *, inner: ASGIApp, proxy: ServiceProxy, relays: RelayTokens) -> None:
        self.inner, self.proxy, self.relays = inner, proxy, relays

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope)
        if token is None or not unverified_claims(token).get("dest"):
            await self.inner(scope, receive, send)
            return
        try:
            relayed = await self.relays.relayed(token, delegated=False)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        except httpx.HTTPError as error:
            await _identity_unavailable(send, scope, error)
            return
        if relayed.next_hop is None:
            await self.inner(scope, receive, send)
            return
        await _relay_on(self.proxy, scope, receive, send, relayed)


async def _relay_on(proxy: ServiceProxy, scope: Scope, receive: Receive, send: Send,
                    relayed: Relayed) -> None:
    """To the next hop's gateway, the same path, this node's token for it."""
    assert relayed.gateway_url is not None and relayed.next_hop is not None
    raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    destination = unverified_claims(relayed.token).get("dest")
    await proxy.relay(_with_token(scope, relayed.token), receive, send,
                      f"{relayed.gateway_url}{raw}" + (f"?{query}" if query else ""),
                      unanswered=_hop_down(relayed.next_hop, str(destination)))


def _hop_down(node: str, destination: str) -> Unanswered:
    """A node on the way that does not answer is named (F5): 504 if it went silent, 502 if
    it could not be reached."""

    async def answer(send: Send, scope: Scope, error: Exception) -> None:
        silent = isinstance(error, TimeoutError)
        log.warning("a node on the way did not answer a relayed call", extra={
            "node": node, "destination": destination, "error": repr(error)})
        await send_problem(send, problem_body(
            504 if silent else 502, "node-timeout" if silent else "node-unreachable",
            "A node on the way did not answer in time" if silent
            else "A node on the way could not be reached",
            f"{node} did not answer ({type(error).__name__}) on the way to {destination}.",
            scope["path"], node=node, destination=destination))

    return answer


def _refusal(response: httpx.Response) -> ProblemError:
    """The identity service's refusal, as it said it (the rule, the node that applied it)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    kind = {403: Forbidden, 404: NotFound}.get(response.status_code, Unauthorized)
    problem = kind(str(body.get("detail", "The node token was refused.")),
                   reason=str(body.get("reason", "node_token_refused")),
                   **({"node": str(body["node"])} if body.get("node") else {}))
    if str(body.get("type", "")).startswith(PROBLEM_BASE):
        problem.slug, problem.title = body["type"][len(PROBLEM_BASE):], str(body.get("title"))
    return problem


def _bearer_token(scope: Scope) -> str:
    token = _bearer(scope)
    if token is None:
        raise Unauthorized("A linked node's token is required.", reason="token_missing")
    return token


def _bearer(scope: Scope) -> str | None:
    header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _identity_unavailable(send: Send, scope: Scope, error: Exception) -> None:
    log.error("the identity service did not answer a federation call", extra={
        "error": repr(error)})
    await send_problem_for(send, 502, "bad-gateway", "The node's identity service did not "
                           "answer", f"{type(error).__name__} asking for a node token.",
                           scope["path"])


def _with_token(scope: Scope, token: str) -> Scope:
    headers = [(key, value) for key, value in scope["headers"] if key != b"authorization"]
    return {**scope, "headers": [*headers, (b"authorization", f"Bearer {token}".encode())]}
