"""The exchange's bound on the public's open-data streams: a place is freed however a
stream ends, so a caller that leaves mid-download cannot keep one for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from services.exchange.open_data_router import _releasing


async def rows() -> AsyncIterator[bytes]:
    for number in range(3):
        yield b"row %d\n" % number
        await asyncio.sleep(0)


async def test_a_stream_read_to_its_end_frees_its_place() -> None:
    streams = asyncio.Semaphore(1)
    await streams.acquire()
    assert [chunk async for chunk in _releasing(rows(), streams)] == [
        b"row 0\n", b"row 1\n", b"row 2\n"]
    assert not streams.locked()


async def test_a_stream_whose_caller_left_frees_its_place() -> None:
    streams = asyncio.Semaphore(1)
    await streams.acquire()
    started = asyncio.Event()

    async def reader() -> None:
        async for _ in _releasing(rows(), streams):
            started.set()
            await asyncio.sleep(60)  # the caller stops reading, then leaves

    task = asyncio.create_task(reader())
    await started.wait()
    assert streams.locked()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not streams.locked()
