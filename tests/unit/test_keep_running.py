"""A part of a service that must run as long as the service is started again if it ends."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.runtime import keep_running


async def test_a_part_that_fails_or_ends_is_started_again_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[str] = []
    settled = asyncio.Event()

    async def part() -> None:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("stopped by a broker just replaced")
        if len(runs) == 2:
            return  # ended without a word
        if len(runs) == 3:  # a library's own cancellation let out (aiokafka's fetcher)
            stray = asyncio.get_running_loop().create_future()
            stray.cancel()
            await stray
        settled.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(keep_running("consumer", part))
    await asyncio.wait_for(settled.wait(), 10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled() and len(runs) == 4  # cancelled by its owner, it stops for good
    messages = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert messages == ["a part of the service failed; starting it again",
                        "a part of the service ended; starting it again",
                        "a part of the service was handed a cancellation not meant for it; "
                        "starting it again"]
