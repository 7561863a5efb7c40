"""The gateway's upstream clients against real HTTP servers: reuse, streaming, a connection
the server closed while it sat idle, an answer cut short, and the call after a service's
500."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiohttp import web

from cli.embedded import free_port
from gateway.portal import PortalPages
from gateway.proxy import ServiceProxy
from gateway.upstream import KeptAlivePool
from shared.problems import PROBLEM_MEDIA_TYPE
from shared.ratelimit import RateLimiter
from shared.tokens import KeySet, TokenVerifier
from tests.conftest import Infrastructure, RunningNode, _spawn
from tests.integration.conftest import Party, bearer

BIG = b"x" * (3 * 1024 * 1024 + 17)


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[str]]]:
    peers: list[str] = []

    async def small(request: web.Request) -> web.Response:
        peers.append(str(request.transport.get_extra_info("peername")))  # type: ignore[union-attr]
        return web.json_response({"target": request.raw_path})

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked
        await response.prepare(request)
        for start in range(0, len(BIG), 100_000):
            await response.write(BIG[start:start + 100_000])
        await response.write_eof()
        return response

    async def count(request: web.Request) -> web.Response:
        body = await request.read()
        peers.append(f"counted {len(body)}")
        return web.json_response({"bytes": len(body), "whole": body == BIG})

    app = web.Application(client_max_size=len(BIG) + 1)
    app.router.add_route("*", "/small", small)
    app.router.add_post("/count", count)
    app.router.add_route("*", "/big", big)
    runner = web.AppRunner(app, keepalive_timeout=60)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port, peers
    await runner.cleanup()


async def read(pool: KeptAlivePool, target: str) -> tuple[int, bytes]:
    response = await pool.get(target, [(b"x-request-id", b"r1")])
    return response.status, b"".join([piece async for piece in response.body()])


async def test_connections_are_reused_and_bodies_stream_whole(
    server: tuple[int, list[str]]
) -> None:
    port, peers = server
    pool = KeptAlivePool("127.0.0.1", port, timeout=5, max_idle=4)
    for _ in range(3):
        assert await read(pool, "/small?a=%2F1") == (200, b'{"target": "/small?a=%2F1"}')
    assert len(set(peers)) == 1  # one connection carried all three
    status, body = await read(pool, "/big")
    assert (status, len(body), body == BIG) == (200, len(BIG), True)
    pool.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: tuple[int, list[str]]
) -> None:
    port, peers = server
    pool = KeptAlivePool("127.0.0.1", port, timeout=5, max_idle=4)
    await read(pool, "/small")
    for connection in pool._idle:  # the server side gives up on it
        connection.writer.transport.abort()
    assert (await read(pool, "/small"))[0] == 200
    assert len(set(peers)) == 2
    pool.close()


# --- calls with a body (aiohttp) ---------------------------------------------------------------


class AsgiCall:
    """One call to the proxy as its server hands it over: the body in pieces of `piece`
    bytes (chunked unless `length`), the answer collected; after `leave_after` body messages
    of the answer, or after `sent_before_leaving` pieces of the body, the caller is gone."""

    def __init__(self, method: str, path: str, body: bytes = b"", *, length: bool = True,
                 piece: int = 1 << 30, leave_after: int | None = None,
                 sent_before_leaving: int | None = None) -> None:
        headers = [(b"content-type", b"application/json")]
        if body:
            headers.append((b"content-length", str(len(body)).encode()) if length
                           else (b"transfer-encoding", b"chunked"))
        self.scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                      "root_path": "", "query_string": b"", "headers": headers}
        self.pieces = [body[start:start + piece] for start in range(0, len(body), piece)]
        self.pieces = self.pieces[:sent_before_leaving] if sent_before_leaving else self.pieces
        self.leaves, self.leave_after = sent_before_leaving is not None, leave_after
        self.status, self.headers, self.answer = 0, list[tuple[bytes, bytes]](), b""

    async def receive(self) -> dict[str, object]:
        if not self.pieces:
            return {"type": "http.disconnect"}
        body = self.pieces.pop(0)
        return {"type": "http.request", "body": body,
                "more_body": bool(self.pieces) or self.leaves}

    async def send(self, message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], message["headers"]  # type: ignore[assignment]
            return
        if self.leave_after is not None and self.leave_after <= 0:
            raise OSError("the caller left")
        self.leave_after = None if self.leave_after is None else self.leave_after - 1
        self.answer += message.get("body", b"")  # type: ignore[operator]


@pytest.fixture
async def proxy() -> AsyncIterator[ServiceProxy]:
    async def no_keys() -> dict[str, object]:
        return {"keys": []}

    proxy = ServiceProxy(services={}, verifier=TokenVerifier(KeySet(no_keys)),
                         limiter=RateLimiter(100, 100), max_connections=4, timeout_seconds=5)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture(params=["closed", "reset"])
async def idle_closing_service(request: pytest.FixtureRequest
                               ) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A service that answers the first call on each connection and, when the next call
    arrives on it, drops the connection unanswered (closed, or reset): what the gateway meets
    when it sends a call on a kept-alive connection just as the service lets it go as idle.
    Lists the bodies of the calls it answered."""
    answered: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        body = await reader.readexactly(int(length[1]) if length else 0)
        answered.append(body)
        answer = json.dumps({"received": body.decode()}).encode()
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(answer), answer))
        await reader.read(1)  # the next call on this connection, or the gateway closing it
        if request.param == "reset":
            writer.transport.abort()
        else:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], answered
    server.close()


async def test_a_call_that_meets_a_connection_the_service_let_go_is_sent_again(
    proxy: ServiceProxy, idle_closing_service: tuple[int, list[bytes]]
) -> None:
    port, answered = idle_closing_service
    for number in range(30):
        body = json.dumps({"call": number}).encode()
        call = AsgiCall("POST", "/things", body)
        await proxy.forward(call.scope, call.receive, call.send,
                            f"http://127.0.0.1:{port}/things")
        assert (call.status, json.loads(call.answer)) == (201, {"received": body.decode()})
    # Every call reached the service once, half of them on a connection it dropped first.
    assert answered == [json.dumps({"call": number}).encode() for number in range(30)]


async def test_a_page_asked_for_while_the_portal_is_away_is_a_page_saying_to_wait(
    proxy: ServiceProxy
) -> None:
    call = AsgiCall("GET", "/requests")
    await PortalPages(proxy, f"http://127.0.0.1:{free_port()}")(  # nothing listens there
        call.scope, call.receive, call.send)
    headers = dict(call.headers)
    assert call.status == 503 and headers[b"retry-after"] == b"5"
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert "门户暂时无法访问" in call.answer.decode()


async def test_an_answer_cut_short_closes_its_connection(
    proxy: ServiceProxy, server: tuple[int, list[str]]
) -> None:
    port, _ = server
    cut = AsgiCall("POST", "/big", b'{"a": 1}', leave_after=1)
    with pytest.raises(OSError, match="the caller left"):
        await proxy.forward(cut.scope, cut.receive, cut.send, f"http://127.0.0.1:{port}/big")
    assert cut.status == 200
    # The next call gets its own answer, on a connection of its own.
    call = AsgiCall("POST", "/small", b'{"a": 2}')
    await proxy.forward(call.scope, call.receive, call.send, f"http://127.0.0.1:{port}/small")
    assert (call.status, json.loads(call.answer)) == (200, {"target": "/small"})


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
async def test_a_large_upload_streams_through_whole(
    proxy: ServiceProxy, server: tuple[int, list[str]], length: bool
) -> None:
    port, _ = server
    call = AsgiCall("POST", "/count", BIG, length=length, piece=65536)
    await proxy.forward(call.scope, call.receive, call.send, f"http://127.0.0.1:{port}/count")
    assert (call.status, json.loads(call.answer)) == (200, {"bytes": len(BIG), "whole": True})


async def test_an_upload_the_caller_abandons_does_not_reach_the_service_as_whole(
    proxy: ServiceProxy, server: tuple[int, list[str]]
) -> None:
    port, peers = server
    call = AsgiCall("POST", "/count", BIG, length=False, piece=65536, sent_before_leaving=3)
    await proxy.forward(call.scope, call.receive, call.send, f"http://127.0.0.1:{port}/count")
    await asyncio.sleep(0.2)
    assert not [peer for peer in peers if peer.startswith("counted")]


async def test_a_get_answer_cut_short_closes_its_connection(
    server: tuple[int, list[str]]
) -> None:
    port, _ = server
    pool = KeptAlivePool("127.0.0.1", port, timeout=5, max_idle=4)
    response = await pool.get("/big", [])
    async for _ in response.body():
        break  # the caller left after the first piece
    response.close()
    assert not pool._idle
    assert await read(pool, "/small") == (200, b'{"target": "/small"}')
    pool.close()


async def test_a_service_answer_has_one_date_and_one_server_header(
    proxy: ServiceProxy, server: tuple[int, list[str]]
) -> None:
    """The gateway's own server sets both: the service's are not passed on."""
    port, _ = server
    call = AsgiCall("POST", "/small", b"{}")
    await proxy.forward(call.scope, call.receive, call.send, f"http://127.0.0.1:{port}/small")
    names = {name.lower() for name, _ in call.headers}
    assert call.status == 200 and b"content-type" in names
    assert not names & {b"date", b"server"}


# --- a service's 500, then the next caller, through the real gateway --------------------------


@pytest.fixture(scope="module")
def gateway_with_a_failing_service(infrastructure: Infrastructure, node: RunningNode
                                   ) -> Iterator[str]:
    """A gateway of the node that also routes /api/failing/… to a service made by the
    node's own service factory (tests/integration/failing_service.py), each served as the
    node's processes are."""
    identity = node.service_urls["authorization"]
    service_port, gateway_port = free_port(), free_port()
    env = dict(os.environ, GOVSHARE_NODE_ID="test-node", GOVSHARE_JWKS_URL=f"{identity}/jwks")
    service = _spawn("tests.integration.failing_service:create_app", service_port, env,
                     infrastructure.workdir / "failing-service.log")
    routes = {**node.service_urls, "failing": f"http://127.0.0.1:{service_port}"}
    try:
        gateway = _spawn("gateway.app:create_app", gateway_port,
                         {**env, "GOVSHARE_SERVICES": json.dumps(routes)},
                         infrastructure.workdir / "gateway-with-failing-service.log")
        try:
            yield f"http://127.0.0.1:{gateway_port}"
        finally:
            gateway.terminate()
            gateway.wait(15)
    finally:
        service.terminate()
        service.wait(15)


def local_address(response: httpx.Response) -> object:
    """The caller's end of the connection that carried `response`."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


@pytest.mark.parametrize("failing", ["GET", "POST"])
async def test_after_a_service_answers_500_the_next_call_on_the_connection_is_answered(
    gateway_with_a_failing_service: str, provider: Party, consumer: Party, failing: str
) -> None:
    """The issue's sequence, 30 times on one kept-alive connection: a call the service
    fails with 500 (a GET, which the gateway sends on its own kept-alive connections, or a
    POST whose body the service never reads), then at once a valid POST, every other time
    with another department's token. Each POST is the service's to answer, not a 502."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=gateway_with_a_failing_service, limits=limits,
                                 timeout=30) as client:
        connections = set()
        for number in range(30):
            poster = consumer if number % 2 else provider
            failed = await client.request(failing, "/api/failing/broken",
                                          headers=bearer(provider["token"]),
                                          json={"a body": "it never reads"} if failing == "POST"
                                          else None)
            assert failed.status_code == 500, failed.text
            assert failed.headers["content-type"] == PROBLEM_MEDIA_TYPE
            assert failed.json()["request_id"] == failed.headers["x-request-id"]
            taken = await client.post("/api/failing/notes", json={"number": number},
                                      headers=bearer(poster["token"]))
            assert taken.status_code == 201, (number, taken.text)
            assert taken.json() == {"number": number, "department": poster["credit_code"]}
            connections |= {local_address(failed), local_address(taken)}
    assert len(connections) == 1  # one kept-alive connection carried all 60 calls
