"""Transactional outbox: events are rows written in the caller's transaction, then relayed.

The relay publishes with `SELECT … FOR UPDATE SKIP LOCKED`, so replicas never send the same
row concurrently. A relay that dies after sending but before marking sends the row again
later; idempotent consumers absorb that duplicate.

PostgreSQL is the durable log. Published rows are kept for a retention period, and the relay
writes an epoch marker to the broker: when the marker has vanished, the broker is new and
empty (the embedded broker keeps nothing across a restart), so every retained row is
published again. Against a durable Kafka cluster the marker never vanishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import transaction
from shared.events import EventData, EventEnvelope, EventSource
from shared.kafka import BrokerProbe
from shared.messaging_tables import broker_epoch, outbox_event
from shared.metrics import outbox_backlog, outbox_oldest_unpublished, outbox_published
from shared.telemetry import context_from_mapping, current_trace_context, tracer

log = logging.getLogger(__name__)


class Outbox:
    """Writes events into the outbox inside the caller's session (never commits)."""

    def __init__(self, *, node: str, service: str) -> None:
        self.source = EventSource(node=node, service=service)

    async def add(self, session: AsyncSession, key: str, payload: EventData) -> EventEnvelope:
        """Record `payload` as an event about aggregate `key`; it leaves on commit."""
        envelope = EventEnvelope(
            type=payload.event_type,
            source=self.source,
            key=key,
            data=payload.model_dump(mode="json"),
        )
        await add_envelope(session, envelope)
        return envelope


async def add_envelope(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Insert a ready-made envelope into the outbox of the session's service, with the trace
    of the work that made it (the relay passes it on in the event's headers)."""
    await session.execute(
        insert(outbox_event).values(
            id=envelope.id,
            topic=envelope.topic,
            key=envelope.key,
            type=envelope.type,
            envelope=envelope.model_dump_json(),
            trace_context=current_trace_context() or None,
        )
    )


async def measure_backlog(session: AsyncSession) -> None:
    """Set the outbox gauges: events waiting, and how long the oldest has waited."""
    waiting, oldest = (await session.execute(
        select(func.count(), func.extract("epoch", func.now() - func.min(
            outbox_event.c.created_at)))
        .where(outbox_event.c.published_at.is_(None)))).one()
    outbox_backlog.set(waiting)
    outbox_oldest_unpublished.set(float(oldest or 0))


class OutboxRelay:
    """Publishes unpublished outbox rows to Kafka, in order of writing."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        probe: BrokerProbe,
        service: str,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
        retention: timedelta = timedelta(days=7),
        epoch_check_seconds: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.producer = producer
        self.probe = probe
        self.epoch_topic = f"govshare.relay-epoch.{service}"
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.epoch_check_seconds = epoch_check_seconds
        self._epoch_checked_at = 0.0
        self._pruned_at = 0.0

    async def run(self) -> None:
        """Relay until cancelled; broker errors are logged and retried with backoff."""
        backoff = self.poll_seconds
        while True:
            try:
                sent = await self.publish_batch()
                await self._prune_if_due()
                backoff = self.poll_seconds
                if sent < self.batch_size:
                    await asyncio.sleep(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Whatever failed, the broker may have changed under us: look again first.
                self._epoch_checked_at = 0.0
                log.warning("outbox relay failed; retrying", extra={"error": repr(error)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def publish_batch(self) -> int:
        """Send one batch of unpublished rows and mark them; return how many were sent."""
        if not await self._has_unpublished():
            if time.monotonic() - self._epoch_checked_at >= self.epoch_check_seconds:
                await self.check_broker_epoch()
            return 0
        # Before every send, not only now and then: records that reach a broker which has
        # just restarted empty, ahead of its topics, leave its memory log unreadable.
        await self.check_broker_epoch()
        async with transaction(self.sessions) as session:
            rows = (
                await session.execute(
                    select(outbox_event.c.seq, outbox_event.c.topic, outbox_event.c.key,
                           outbox_event.c.type, outbox_event.c.envelope,
                           outbox_event.c.trace_context)
                    .where(outbox_event.c.published_at.is_(None))
                    .order_by(outbox_event.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._send(rows)
            await self._mark_published(session, [row.seq for row in rows])
        return len(rows)

    async def _has_unpublished(self) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(
                select(outbox_event.c.seq).where(outbox_event.c.published_at.is_(None)).limit(1))
        return found is not None

    async def _send(self, rows: list[Any]) -> None:
        pending = [await self._send_one(row) for row in rows]
        await asyncio.gather(*pending)
        outbox_published.inc(len(rows))

    async def _send_one(self, row: Any) -> asyncio.Future[Any]:
        """Queue one row for sending, in a producer span of the trace that wrote it, whose
        context travels in the record's headers to the consumers."""
        with tracer.start_as_current_span(
                f"publish {row.topic}", context=context_from_mapping(row.trace_context),
                kind=SpanKind.PRODUCER, attributes={
                    "messaging.system": "kafka", "messaging.destination.name": row.topic,
                    "messaging.kafka.message.key": row.key, "govshare.event.type": row.type}):
            headers = [(name, value.encode()) for name, value in current_trace_context().items()]
            return await self.producer.send(row.topic, row.envelope.encode(),
                                             key=row.key.encode(), headers=headers)

    async def _mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        await session.execute(
            update(outbox_event)
            .where(outbox_event.c.seq.in_(seqs))
            .values(published_at=datetime.now(UTC))
        )

    async def check_broker_epoch(self) -> bool:
        """Republish every retained row if the broker lost our marker; True if it did."""
        async with transaction(self.sessions) as session:
            await session.execute(
                text("select pg_advisory_xact_lock(hashtext(:topic))"),
                {"topic": self.epoch_topic},
            )
            recorded = await session.scalar(select(broker_epoch.c.marker))
            broker_is_empty = await self.probe.end_offset(self.epoch_topic) == 0
            replayed = 0
            if recorded is not None and broker_is_empty:
                replayed = await self._mark_all_unpublished(session)
                await self._create_topics(session)
                log.warning(
                    "broker lost its log; republishing retained events",
                    extra={"events": replayed, "epoch_topic": self.epoch_topic},
                )
            if recorded is None or broker_is_empty:
                await self._write_marker(session)
        self._epoch_checked_at = time.monotonic()
        return replayed > 0

    async def _mark_all_unpublished(self, session: AsyncSession) -> int:
        result = await session.execute(
            update(outbox_event)
            .where(outbox_event.c.published_at.is_not(None))
            .values(published_at=None)
        )
        return result.rowcount or 0

    async def _create_topics(self, session: AsyncSession) -> None:
        """Make the new broker create every topic we replay into before any record arrives."""
        topics = await session.scalars(select(outbox_event.c.topic).distinct())
        for topic in topics:
            await self.probe.end_offset(topic)
        await self.producer.client.force_metadata_update()

    async def _write_marker(self, session: AsyncSession) -> None:
        marker = uuid.uuid4()
        await self.producer.send_and_wait(self.epoch_topic, marker.bytes, partition=0)
        await session.execute(delete(broker_epoch))
        await session.execute(insert(broker_epoch).values(id=1, marker=marker))

    async def _prune_if_due(self) -> None:
        if time.monotonic() - self._pruned_at < 60:
            return
        cutoff = datetime.now(UTC) - self.retention
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(outbox_event).where(outbox_event.c.published_at < cutoff)
            )
        self._pruned_at = time.monotonic()
