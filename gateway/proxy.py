"""Reverse proxy of /api/<service>/… to the services: verified, rate-limited, streamed.

A plain ASGI app (no router, no body parsing) because every exchange later passes here.
Body-less GETs, most of the traffic, go over `gateway.upstream`'s kept-alive connections;
calls with a body go through aiohttp, not httpx: under concurrency httpx's pool cost the
gateway five times its throughput (301 vs 1,662 req/s in bench/gateway.py on the same
machine). Everything off this hot path uses httpx.
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import httptools
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from starlette.types import Receive, Scope, Send

from gateway.forwarded import FORWARDED_FOR, Network, forwarded_for
from gateway.upstream import KeptAlivePool, Response, UpstreamClosed
from shared.logs import request_id_var
from shared.problems import (
    FORWARDED_PREFIX_HEADER,
    NotFound,
    ProblemError,
    TooManyRequests,
    Unauthorized,
)
from shared.ratelimit import RateLimiter, retry_after_header
from shared.telemetry import current_trace_context
from shared.tokens import TokenClaims, TokenVerifier
from shared.web import REQUEST_ID_HEADER, AnswerWatch, send_problem, send_problem_for

REQUEST_ID = REQUEST_ID_HEADER.encode()
FORWARDED_PREFIX = FORWARDED_PREFIX_HEADER.encode()

# Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded.
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host",
})
# Set anew on every forwarded call: the request id and the trace continue from here, and the
# caller's address is the one the gateway determined (a caller's own would be believed).
REPLACED = frozenset({REQUEST_ID, FORWARDED_PREFIX, FORWARDED_FOR, b"traceparent",
                      b"tracestate"})
# Headers of the service's answer the gateway's own server sets: passed on, each would be
# answered twice.
NOT_PASSED_BACK = HOP_BY_HOP | {b"date", b"server"}
# Services (uvicorn) close a connection idle for 5 s; the gateway lets go of its idle ones
# first, so that it rarely sends a call on a connection the service is closing.
UPSTREAM_IDLE_SECONDS = 4.0
# A body whose Content-Length is at most this is read whole before it is forwarded, so that
# the call can be sent again if the pooled connection it went out on turns out dead (the
# body guard holds JSON bodies whole already). Larger bodies and chunked uploads stream, and
# can be sent again only if none of them was read yet.
REPLAYABLE_BODY = 1024 * 1024
# A service's own routes that the gateway never routes: its network calls (node tokens,
# say), what its scraper reads, its own API document and its pages (the node's one document,
# every service's paths as a caller reaches them, is the gateway's /openapi.json), and the
# public's downloads (the gateway's /open-data/…, which limits each address, is their way in).
NOT_ROUTED = ("internal", "metrics", "openapi.json", "docs", "redoc", "open-data")


class ServiceProxy:
    """Forwards a call to the service named by the first path segment."""

    def __init__(self, *, services: dict[str, str], verifier: TokenVerifier,
                 limiter: RateLimiter, max_connections: int, timeout_seconds: float,
                 federation: bool = False, trusted_proxies: Sequence[Network] = ()) -> None:
        """`federation`: calls from other nodes (`/federation/<service>/…` → the service's
        `/federation/…`); their node tokens are verified by the service, which knows the
        linked nodes' keys, so the gateway admits them without its own token check."""
        self.federation = federation
        self.trusted_proxies = trusted_proxies
        self.services = {name: url.rstrip("/") for name, url in services.items()}
        self.max_connections = max_connections
        self.timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None
        self._fresh_session: aiohttp.ClientSession | None = None
        self._pools = {name: _pool_for(url, timeout_seconds, max_connections)
                       for name, url in self.services.items()}
        self._peer_pools: dict[str, KeptAlivePool] = {}  # other nodes' gateways, by host:port
        self.verifier = verifier
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            service, target = self._upstream(scope)
            if not self.federation:
                await self.admit(scope)
        except ProblemError as problem:
            await send_problem(send, problem.to_body(scope["path"]), problem.headers)
            return
        if scope["method"] == "GET" and not _has_body(scope):
            await self._forward_get(scope, send, service, target)
        else:
            await self.forward(scope, receive, send, self.services[service] + target)

    async def relay(self, scope: Scope, receive: Receive, send: Send, url: str, *,
                    unanswered: Unanswered) -> None:
        """Send the call on to `url`, another node's gateway (F2, F5): a body-less GET, most
        of the traffic, over kept-alive connections to that gateway as the services' GETs
        go, anything else as `forward` sends it."""
        if scope["method"] != "GET" or _has_body(scope):
            await self.forward(scope, receive, send, url, unanswered=unanswered)
            return
        parsed = urlsplit(url)
        pool = self._peer_pools.get(parsed.netloc)
        if pool is None:
            pool = self._peer_pools[parsed.netloc] = _pool_for(
                url, self.timeout_seconds, self.max_connections)
        try:
            response = await pool.get(parsed.path + (f"?{parsed.query}" if parsed.query else ""),
                                      _upstream_headers(scope, self.trusted_proxies))
        except (OSError, UpstreamClosed, TimeoutError, httptools.HttpParserError) as error:
            await unanswered(send, scope, error)
            return
        await _answer(response, send)

    def _upstream(self, scope: Scope) -> tuple[str, str]:
        """The service a call goes to and the request target (path and query) there."""
        service, _, rest = _route_path(scope).lstrip("/").partition("/")
        if service not in self.services:
            raise NotFound(f"No service is called {service!r}; this node routes: "
                           f"{', '.join(sorted(self.services))}.")
        raw = (scope.get("raw_path") or b"").decode("latin-1")
        _, found, below = raw.partition(f"/{service}")  # keep the caller's percent-encoding
        if not found:  # the service name itself came percent-encoded: encode the path anew
            below = "/" + quote(rest)
        if rest in NOT_ROUTED or rest.startswith(tuple(f"{name}/" for name in NOT_ROUTED)):
            raise NotFound("No such route.")
        query = scope.get("query_string", b"").decode("latin-1")
        below = ("/federation" if self.federation else "") + (below or "/")
        return service, below + (f"?{query}" if query else "")

    async def _forward_get(self, scope: Scope, send: Send, service: str, target: str) -> None:
        try:
            response = await self._pools[service].get(
                target, _upstream_headers(scope, self.trusted_proxies))
        except (OSError, UpstreamClosed, TimeoutError, httptools.HttpParserError) as error:
            await send_problem_for(send, 502, "bad-gateway", "The service did not answer",
                                   f"{type(error).__name__} calling the service.",
                                   scope["path"])
            return
        await _answer(response, send)

    async def admit(self, scope: Scope) -> TokenClaims:
        """The caller's verified claims, within its rate limit; a problem otherwise."""
        token = _bearer(scope)
        if token is None:
            raise Unauthorized("An `Authorization: Bearer <token>` header is required.",
                               reason="token_missing")
        claims = await self.verifier.verify(token)
        wait = self.limiter.acquire(f"{claims.node}/{claims.sub}")
        if wait:
            raise TooManyRequests(
                f"Client {claims.sub} is over its rate limit of {self.limiter.rate:g}/s.",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return claims

    async def start(self) -> None:
        """Open the pooled upstream connections (needs the running loop)."""
        self._session = _client_session(
            _ReuseTellingConnector(limit=self.max_connections,
                                   keepalive_timeout=UPSTREAM_IDLE_SECONDS),
            self.timeout_seconds)
        # A call sent again goes out on a connection of its own, never another pooled one
        # (after a service restarts, every pooled connection to it is dead).
        self._fresh_session = _client_session(
            aiohttp.TCPConnector(limit=self.max_connections, force_close=True),
            self.timeout_seconds)

    async def stop(self) -> None:
        for session in (self._session, self._fresh_session):
            if session is not None:
                await session.close()
        for pool in [*self._pools.values(), *self._peer_pools.values()]:
            pool.close()

    async def forward(self, scope: Scope, receive: Receive, send: Send, url: str, *,
                      unanswered: Unanswered | None = None) -> None:
        """Send the call to `url` as it came (headers, body) and stream back the answer; if
        nothing answers, `unanswered` says so (a 502 problem unless given). A call that met a
        pooled connection the service had closed is sent once more, on a new connection,
        when its body can be sent again."""
        assert self._session is not None and self._fresh_session is not None, (
            "ServiceProxy.start() was not awaited")
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, v in _upstream_headers(scope, self.trusted_proxies)]
        body = await _RequestBody.take(scope, receive)
        if body is None:
            return  # the caller left while sending its body: there is no one to answer
        answer = AnswerWatch(send)
        _reused.set(False)
        try:
            try:
                await _call(self._session, scope, url, headers, body, answer)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
                if not _closed_while_idle(error, body, answer):
                    raise
                await _call(self._fresh_session, scope, url, headers, body, answer)
        except (aiohttp.ClientError, TimeoutError) as error:
            if answer.started:
                raise  # the status line is out; all we can do is cut the response short
            await (unanswered or _bad_gateway)(send, scope, error)


Unanswered = Callable[[Send, Scope, Exception], Awaitable[None]]
"""How a call that no service answered is answered."""


async def _bad_gateway(send: Send, scope: Scope, error: Exception) -> None:
    await send_problem_for(send, 502, "bad-gateway", "The service did not answer",
                           f"{type(error).__name__} calling the service.", scope["path"])


async def _answer(response: Response, send: Send) -> None:
    """Pass a pooled GET's answer on to the caller as it arrives."""
    try:
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k, v) for k, v in response.headers
                                if k not in NOT_PASSED_BACK]})
        await _stream_get(response, send)
    except BaseException:
        response.close()  # cut short: the rest of the answer must not meet the next call
        raise


async def _stream_get(response: Response, send: Send) -> None:
    length = dict(response.headers).get(b"content-length")
    if length is not None and int(length) <= SMALL_BODY:
        # Most answers are small: one message instead of a stream of them.
        body = b"".join([piece async for piece in response.body()])
        await send({"type": "http.response.body", "body": body})
        return
    async for piece in response.body():
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _call(session: aiohttp.ClientSession, scope: Scope, url: str,
                headers: list[tuple[str, str]], body: _RequestBody,
                answer: AnswerWatch) -> None:
    """One attempt: send the call, stream the service's answer to the caller."""
    async with session.request(scope["method"], url, headers=headers, allow_redirects=False,
                               data=body.data()) as response:
        try:
            await answer({"type": "http.response.start", "status": response.status,
                          "headers": [(k, v) for k, v in response.raw_headers
                                      if k.lower() not in NOT_PASSED_BACK]})
            await _stream_back(response, answer)
        except BaseException:
            # Cut short (the caller left, the service broke off): the connection may hold
            # the rest of this answer, so it is closed, never handed to the next call.
            response.close()
            raise


async def _stream_back(response: aiohttp.ClientResponse, send: Send) -> None:
    if (response.content_length or SMALL_BODY + 1) <= SMALL_BODY:
        # Most answers are small: one message instead of a stream of them.
        await send({"type": "http.response.body", "body": await response.read()})
        return
    async for chunk in response.content.iter_any():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _closed_while_idle(error: aiohttp.ClientError, body: _RequestBody,
                      answer: AnswerWatch) -> bool:
    """Whether the call met a kept-alive connection the service had closed as idle, and can
    be sent again. A service of the node answers every call it reads, errors included
    (`shared.web.UnexpectedErrors`), so a pooled connection closed without a byte of answer
    was closed before the call was taken up: sending it again does not apply it twice. A
    connection that could not be opened, or a new one that broke, is the service's failure,
    answered as such."""
    return (not isinstance(error, aiohttp.ClientConnectorError) and _reused.get()
            and not answer.started and body.replayable)


class _RequestBody:
    """The body of a forwarded call: held whole when small enough to send again, streamed
    from the caller otherwise."""

    def __init__(self, receive: Receive, whole: bytes | None) -> None:
        self.receive, self.whole, self.read_from_caller = receive, whole, False

    @classmethod
    async def take(cls, scope: Scope, receive: Receive) -> _RequestBody | None:
        """The call's body; None if the caller left before sending it all."""
        if not _has_body(scope):
            return cls(receive, b"")
        length = dict(scope["headers"]).get(b"content-length", b"")
        if not (length.isdigit() and int(length) <= REPLAYABLE_BODY):
            return cls(receive, None)
        try:
            whole = b"".join([chunk async for chunk in _request_body(receive)])
        except _CallerLeft:
            return None
        return cls(receive, whole)

    @property
    def replayable(self) -> bool:
        return self.whole is not None or not self.read_from_caller

    def data(self) -> bytes | AsyncIterator[bytes] | None:
        if self.whole is not None:
            return self.whole or None
        return self._streamed()

    async def _streamed(self) -> AsyncIterator[bytes]:
        self.read_from_caller = True
        async for chunk in _request_body(self.receive):
            yield chunk


class _CallerLeft(Exception):
    """The caller disconnected before its body was all sent: the call must not reach the
    service as if it were whole."""


_reused: ContextVar[bool] = ContextVar("upstream_connection_reused", default=False)


class _ReuseTellingConnector(aiohttp.TCPConnector):
    """A connection pool that says, in `_reused` (the calling task's context), whether the
    connection it hands out has carried a call before."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._carried: weakref.WeakSet[object] = weakref.WeakSet()

    async def connect(self, req: aiohttp.ClientRequest, traces: list[Trace],
                      timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's signature)
                      ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        _reused.set(connection.protocol in self._carried)
        self._carried.add(connection.protocol)
        return connection


def _client_session(connector: aiohttp.BaseConnector,
                    timeout_seconds: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=connector,
        # An idle limit, not a total one: a download or upload of millions of rows may
        # stream for minutes, but a service that stops answering is cut off.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=timeout_seconds),
        auto_decompress=False, skip_auto_headers=("User-Agent",),
        # Cookies are the client's business, not the proxy's: skip the jar's work.
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _CallerLeft
        yield message.get("body", b"")
        more = message.get("more_body", False)


SMALL_BODY = 64 * 1024


def _has_body(scope: Scope) -> bool:
    return any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])


def _upstream_headers(scope: Scope,
                      trusted_proxies: Sequence[Network]) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP and k not in REPLACED]
    headers.append((REQUEST_ID, (request_id_var.get() or "").encode()))
    headers += forwarded_for(scope, trusted_proxies)
    prefix = scope.get("root_path", "")
    if prefix == "/api":  # the service's problems then name the path the caller used
        service = _route_path(scope).lstrip("/").partition("/")[0]
        headers.append((FORWARDED_PREFIX, f"/api/{quote(service)}".encode()))
    headers += [(name.encode(), value.encode()) for name, value in current_trace_context().items()]
    return headers


def _pool_for(base_url: str, timeout: float, max_idle: int) -> KeptAlivePool:
    parsed = urlsplit(base_url)
    tls = ssl.create_default_context() if parsed.scheme == "https" else None
    return KeptAlivePool(parsed.hostname or "127.0.0.1",
                         parsed.port or (443 if tls else 80), timeout=timeout,
                         max_idle=max_idle, tls=tls)


def _route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette keeps the full path and sets root_path)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None



def is_api_call(scope: Scope) -> bool:
    return str(scope["path"]).startswith("/api/")


def is_federation_call(scope: Scope) -> bool:
    return str(scope["path"]).startswith("/federation/")
