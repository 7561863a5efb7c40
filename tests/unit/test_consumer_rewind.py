"""A consumer cycle that fails mid-batch goes back to the committed offsets: the fetch had
moved its positions past the whole batch, and the next commit would pass over records not
yet applied."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from shared.consumer import IdempotentConsumer
from shared.handlers import Handlers
from tests.unit.fakes import RecordingOutbox

APPLYING, FRESH = TopicPartition("govshare.catalog.entry", 0), TopicPartition("t", 1)


class FakeKafkaConsumer:
    def __init__(self) -> None:
        self.positions = {APPLYING: 500, FRESH: 9}  # where the fetch left them
        self.commits = {APPLYING: 120, FRESH: None}  # FRESH: nothing committed yet

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    async def committed(self, partition: TopicPartition) -> int | None:
        return self.commits[partition]

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.positions[partition] = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for partition in partitions:
            self.positions[partition] = 0


async def test_a_failed_cycle_rewinds_every_partition_to_what_was_committed() -> None:
    fake = FakeKafkaConsumer()
    consumer = IdempotentConsumer(name="test", handlers=Handlers(), sessions=Any,
                                  outbox=RecordingOutbox(), bootstrap_servers="",
                                  producer=Any, probe=Any)  # type: ignore[arg-type]
    await consumer._rewind_to_committed(fake)  # type: ignore[arg-type]
    assert fake.positions == {APPLYING: 120, FRESH: 0}
