"""Kafka clients configured the way every govshare process needs them.

No Kafka transactions and no idempotent producer: the embedded broker honours neither.
Exactly-once effects come from the outbox (out) and idempotent consumers (in) instead.

Every client is made here, with the node's `KafkaSecurity`: plaintext for the embedded
broker (loopback only, no authentication), TLS and SCRAM against a production cluster, where
each service is a principal of its own with ACLs for exactly its topics (k8s/base/kafka.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.helpers import create_ssl_context

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client proves to the broker who it is, and checks that the broker is the node's."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @property
    def authenticates(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def encrypts(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments that put any aiokafka client on this footing."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.encrypts:
            # The cluster's own CA when named (Strimzi's is not a public one), and the
            # broker's name checked against its certificate either way.
            options["ssl_context"] = create_ssl_context(cafile=self.ca_file)
        if self.authenticates:
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.username,
                           sasl_plain_password=self.password)
        return options


PLAINTEXT = KafkaSecurity()


def create_producer(bootstrap_servers: str, client_id: str,
                    security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    """A producer that waits for all replicas and surfaces an outage within seconds."""
    return AIOKafkaProducer(
        **security.client_options(),
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        linger_ms=2,
    )


def create_group_consumer(bootstrap_servers: str, group_id: str,
                          security: KafkaSecurity = PLAINTEXT) -> AIOKafkaConsumer:
    """A consumer-group member (subscribe it yourself) that commits by hand."""
    return AIOKafkaConsumer(
        **security.client_options(),
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

    def __init__(self, bootstrap_servers: str, client_id: str,
                 security: KafkaSecurity = PLAINTEXT) -> None:
        self._consumer = AIOKafkaConsumer(
            **security.client_options(),
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
