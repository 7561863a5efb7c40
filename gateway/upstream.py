"""A lean upstream client for the proxy's most common call: a GET with no body.

Per-request setup in a general client (URL objects, cookie and trace hooks, timeout
handles) cost the gateway as much CPU as the service it forwards to. Here a GET is written
as bytes on a kept-alive connection to the service and the answer is parsed by httptools
(the parser uvicorn itself uses) and streamed back in the pieces it arrives in, so large
downloads pass in constant memory. Calls with a body still go through aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httptools

READ_SIZE = 256 * 1024


class UpstreamClosed(Exception):
    """The service closed a kept-alive connection before answering (safe to retry a GET)."""


@dataclass
class _Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    headers_done: bool = False
    body: deque[bytes] = field(default_factory=deque)
    complete: bool = False

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(bytes(body))

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


class Response:
    """An answer whose status and headers are read; `body()` streams the rest."""

    def __init__(self, pool: KeptAlivePool, connection: _Connection, answer: _Answer,
                 parser: httptools.HttpResponseParser, timeout: float) -> None:
        self.pool, self.connection, self.answer = pool, connection, answer
        self.parser, self.timeout = parser, timeout
        self.status, self.headers = parser.get_status_code(), answer.headers
        self._settled = False  # the connection went back to the pool or was closed

    def _reusable(self) -> bool:
        # (httptools answers should_keep_alive() only inside its callbacks.)
        closing = any(name == b"connection" and value.lower() == b"close"
                      for name, value in self.headers)
        return self.parser.get_http_version() == "1.1" and not closing

    async def body(self) -> AsyncIterator[bytes]:
        """The body in the pieces it arrives in; the connection is reused only if it was
        read to the end."""
        finished = False
        try:
            while True:
                while self.answer.body:
                    yield self.answer.body.popleft()
                if self.answer.complete:
                    finished = True
                    return
                await _feed(self.connection, self.parser, self.timeout)
        finally:
            if finished and self._reusable():
                self.pool.release(self.connection)
            else:
                self.connection.close()
            self._settled = True

    def close(self) -> None:
        """Drop the connection of an answer that will not be read to its end: what is left
        of it would be read as the answer to the next call."""
        if not self._settled:
            self.connection.close()
            self._settled = True


class KeptAlivePool:
    """Idle connections to one service (host:port), or another node's gateway (over TLS with
    `tls`), reused for GETs."""

    def __init__(self, host: str, port: int, *, timeout: float, max_idle: int,
                 tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.timeout, self.max_idle = host, port, timeout, max_idle
        self.tls = tls
        self._idle: deque[_Connection] = deque()

    async def get(self, target: str, headers: list[tuple[bytes, bytes]]) -> Response:
        """Send `GET target` and read the status and headers; a kept-alive connection the
        service has meanwhile closed is replaced once."""
        request = _request_bytes(self.host, self.port, target, headers)
        while self._idle:
            try:
                return await self._send(self._idle.pop(), request)
            except (UpstreamClosed, ConnectionError):
                continue  # the service closed it while idle; GET is safe to send again
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls,
                server_hostname=self.host if self.tls else None)
        return await self._send(_Connection(reader, writer), request)

    def release(self, connection: _Connection) -> None:
        if len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def _send(self, connection: _Connection, request: bytes) -> Response:
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        try:
            connection.writer.write(request)
            while not answer.headers_done:
                await _feed(connection, parser, self.timeout)
        except BaseException:
            connection.close()
            raise
        return Response(self, connection, answer, parser, self.timeout)


async def _feed(connection: _Connection, parser: httptools.HttpResponseParser,
                idle_seconds: float) -> None:
    async with asyncio.timeout(idle_seconds):
        data = await connection.reader.read(READ_SIZE)
    if not data:
        raise UpstreamClosed
    parser.feed_data(data)


def _request_bytes(host: str, port: int, target: str,
                   headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in headers]
    lines.append(b"\r\n")
    return b"".join(lines)


