"""A consumer tells a broker replaced by an empty one from its marker record: gone, the log
was replaced and every partition is read again from its start. This holds for a consumer
that started while an earlier run's marker was there (a service restarted alone), not only
for the one that wrote it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.consumer import IdempotentConsumer, _LogReplaced
from shared.handlers import Handlers
from tests.unit.fakes import RecordingOutbox


class FakeProbe:
    """End offsets of the marker topic, one reading after another."""

    def __init__(self, *ends: int) -> None:
        self.ends = list(ends)

    async def end_offset(self, topic: str, partition: int = 0) -> int:
        return self.ends.pop(0)


class FakeProducer:
    def __init__(self) -> None:
        self.markers: list[str] = []

    async def send_and_wait(self, topic: str, value: bytes, partition: int = 0) -> None:
        self.markers.append(topic)


def consumer_reading(*ends: int) -> tuple[IdempotentConsumer, FakeProducer]:
    producer = FakeProducer()
    consumer = IdempotentConsumer(name="catalog", handlers=Handlers(), sessions=Any,
                                  outbox=RecordingOutbox(), bootstrap_servers="",
                                  producer=producer, probe=FakeProbe(*ends),  # type: ignore[arg-type]
                                  epoch_check_seconds=0)
    return consumer, producer


async def test_a_consumer_started_on_a_marked_log_notices_when_it_is_replaced() -> None:
    consumer, producer = consumer_reading(1, 0)
    await consumer._check_log_not_replaced()  # the marker of the service's run before
    with pytest.raises(_LogReplaced):
        await consumer._check_log_not_replaced()  # gone: a new, empty broker
    assert producer.markers == ["govshare.consumer-epoch.catalog"]


async def test_the_first_marker_a_consumer_writes_is_no_replacement() -> None:
    consumer, producer = consumer_reading(0, 1)
    await consumer._check_log_not_replaced()  # a broker it never marked: nothing to redo
    await consumer._check_log_not_replaced()
    assert producer.markers == ["govshare.consumer-epoch.catalog"]
