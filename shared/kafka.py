"""Kafka clients configured the way every govshare process needs them.

No Kafka transactions and no idempotent producer: the embedded broker honours neither.
Exactly-once effects come from the outbox (out) and idempotent consumers (in) instead.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


def create_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """A producer that waits for all replicas and surfaces an outage within seconds."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        linger_ms=2,
    )


def create_group_consumer(bootstrap_servers: str, group_id: str) -> AIOKafkaConsumer:
    """A consumer-group member (subscribe it yourself) that commits by hand."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=3_000,
        request_timeout_ms=20_000,
        session_timeout_ms=15_000,
        heartbeat_interval_ms=1_000,
        retry_backoff_ms=200,
    )


class BrokerProbe:
    """Reads end offsets without joining a group (to tell whether a broker is new)."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            enable_auto_commit=False,
            request_timeout_ms=10_000,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def end_offset(self, topic: str, partition: int = 0) -> int:
        """Offset after the last record of a partition (0 when empty or missing)."""
        partition_ = TopicPartition(topic, partition)
        offsets = await self._consumer.end_offsets([partition_])
        return int(offsets.get(partition_, 0))

    async def cluster_info(self) -> dict[str, object]:
        """Health check: a broker answers a metadata request now. Not the client's cached
        metadata, which a dead broker leaves in place (its update fails quietly); the caller
        bounds the wait."""
        metadata = await self._consumer._client.fetch_all_metadata()
        return {"brokers": len(metadata.brokers())}
