"""The gateway's kept-alive GET client against a real HTTP server: reuse, streaming, and a
connection the server closed while it sat idle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cli.embedded import free_port
from gateway.upstream import KeptAlivePool

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

    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/big", big)
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
