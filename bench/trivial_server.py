"""The load generator's ceiling: an HTTP/1.1 server that answers every request at once with
the same few bytes, so what a run against it measures is the generator itself.

    python -m bench.trivial_server PORT
"""

from __future__ import annotations

import asyncio
import sys

ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
          b"{}")


class Answering(asyncio.Protocol):
    def __init__(self) -> None:
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        # Requests without a body: one answer for each blank line ending a head.
        *heads, self.pending = (self.pending + data).split(b"\r\n\r\n")
        self.transport.write(ANSWER * len(heads))  # type: ignore[attr-defined]


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Answering, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
