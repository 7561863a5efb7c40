"""Idempotent consumer: an event's effect and the record that it was applied commit together.

Offsets are committed only after the effect is durable (at-least-once delivery), and the
processed-event record turns redeliveries into no-ops (exactly-once effect). Nothing is
skipped silently: a record that breaks its contract (no envelope, or a payload its type's
class refuses) goes to the group's dead-letter topic `govshare.dead-letter.<group>`, with a
metric and an error log; a handler that fails is retried, holding its partition, and alarms.

A broker that restarts empty (the embedded one keeps nothing) may not report our old
positions as out of range, so the consumer keeps a marker record in a topic of its own:
when the marker is gone, the log was replaced, and the consumer reads it from the beginning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import transaction
from shared.events import topic_for
from shared.handlers import Event, Handlers, MalformedEvent, Route, parse_envelope
from shared.kafka import PLAINTEXT, BrokerProbe, KafkaSecurity, create_group_consumer
from shared.messaging_tables import processed_event
from shared.metrics import consumer_events, consumer_failing, consumer_lag, consumer_retries
from shared.outbox import Outbox
from shared.telemetry import KafkaHeaders, context_from_headers, tracer

log = logging.getLogger(__name__)

# Failures in a row after which a failing handler is logged as an error (with its traceback
# once), for a person to look at: by then it is no passing outage of the database.
_ALARM_AFTER = 5

# aiokafka retries some calls forever, quietly, when the broker lost a topic or a group (a
# broker replaced by an empty one): a commit, a committed-offset fetch, a position whose reset
# cannot complete. Bounded here, a stuck call fails the cycle, which looks again whether the
# log was replaced, instead of holding the consumer for good.
_BROKER_CALL_SECONDS = 5.0
_LAG_REPORT_SECONDS = 2.0


async def forget_applied(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Let the event with this id be applied when it comes again, in the handler's own
    transaction: for a refusal that depends on who sent the event, so that a forgery sent
    first under a genuine event's id does not turn the genuine one into a duplicate. A
    service's schema holds its one consumer's records only."""
    await session.execute(delete(processed_event).where(processed_event.c.event_id == event_id))


def cancelled_from_outside() -> bool:
    """Whether the running task was cancelled (by its owner), rather than handed a
    cancellation a library let out of a task of its own."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _LogReplaced(Exception):
    """The broker no longer holds our marker: it is a new, empty broker."""


class _RewindOnFirstAssignment(ConsumerRebalanceListener):
    def __init__(self, consumer: AIOKafkaConsumer, rewind: bool) -> None:
        self.consumer = consumer
        self.rewind = rewind

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.rewind and assigned:
            await self.consumer.seek_to_beginning(*assigned)
            self.rewind = False


SessionHook = Callable[[AsyncSession], Awaitable[None]]


class HistoryShorterThanModel(Exception):
    """The broker no longer holds the first records of its topics (retention removed them):
    replaying it would lose what the model holds from them."""


@dataclass
class _Replay:
    reset: SessionHook
    force: bool
    done: asyncio.Future[int]


class IdempotentConsumer:
    """Applies events of the types it has handlers for, each at most once per consumer name;
    handlers get the session of the transaction that records the event as applied, and the
    service's outbox for the events their effects cause."""

    def __init__(
        self,
        *,
        name: str,
        handlers: Handlers,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        bootstrap_servers: str,
        producer: AIOKafkaProducer,
        probe: BrokerProbe,
        security: KafkaSecurity = PLAINTEXT,
        epoch_check_seconds: float = 1.0,
        on_new_log: SessionHook | None = None,
    ) -> None:
        self.name = name
        self.handlers = handlers
        self.sessions = sessions
        self.outbox = outbox
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.topics = handlers.topics
        self.producer = producer
        self.probe = probe
        self.epoch_topic = f"govshare.consumer-epoch.{name}"
        self.dead_letter_topic = f"govshare.dead-letter.{name}"
        self.epoch_check_seconds = epoch_check_seconds
        self._marked = False
        self._epoch_checked_at = 0.0
        self._replays: list[_Replay] = []
        self.on_new_log = on_new_log
        self._lag_reported: set[TopicPartition] = set()

    async def replay(self, reset: SessionHook, *, force: bool = False) -> int:
        """Forget every applied event, clear the model with `reset` (one transaction), and
        consume all topics again from their first record. Runs in the consume loop, between
        batches, so no handler runs meanwhile; returns the number of events forgotten.
        Raises HistoryShorterThanModel, and changes nothing, when retention has removed the
        first records of a topic, unless `force`."""
        replay = _Replay(reset, force, asyncio.get_running_loop().create_future())
        self._replays.append(replay)
        return await replay.done

    async def run(self) -> None:
        """Consume until cancelled; a failed handler is retried, never skipped."""
        rewind = False
        while True:
            consumer = create_group_consumer(self.bootstrap_servers, self.name, self.security)
            consumer.subscribe(self.topics, listener=_RewindOnFirstAssignment(consumer, rewind))
            try:
                await consumer.start()
            except Exception as error:
                log.warning("cannot join the consumer group yet",
                            extra={"consumer": self.name, "error": repr(error)})
                await self._leave(consumer)
                await asyncio.sleep(2.0)
                continue
            try:
                await self._consume(consumer)
            except _LogReplaced:
                # Positions and offsets committed against the old log mean nothing in the new
                # one: a fresh member reads every assigned partition from its first record,
                # and the inbox turns what was already applied into no-ops.
                log.warning("broker log was replaced; consuming again from the beginning",
                            extra={"consumer": self.name})
                rewind = True
            except Exception:  # whatever it is, a member made anew goes on from the offsets
                log.exception("consumer failed; joining the group again",
                              extra={"consumer": self.name})
                await asyncio.sleep(1.0)
            finally:
                await self._leave(consumer)

    async def _leave(self, consumer: AIOKafkaConsumer) -> None:
        """Stop the member; on a broker just replaced that can fail or hang, and the next
        member must be made all the same."""
        try:
            async with asyncio.timeout(_BROKER_CALL_SECONDS):
                await consumer.stop()
        except asyncio.CancelledError:
            # aiokafka's fetcher awaits the tasks it cancels as it closes, and their
            # cancellation comes out here though nobody cancelled this one: it killed the
            # consumer in silence after a broker was replaced.
            if cancelled_from_outside():
                raise
            log.warning("consumer did not stop cleanly", extra={
                "consumer": self.name, "error": "a cancellation of aiokafka's own"})
        except Exception as error:
            log.warning("consumer did not stop cleanly",
                        extra={"consumer": self.name, "error": repr(error)})

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                await self._check_log_not_replaced()
                while self._replays and consumer.assignment():
                    await self._replay_now(consumer, self._replays.pop(0))
                batch = await consumer.getmany(timeout_ms=500, max_records=500)
                for partition, records in batch.items():
                    for record in records:
                        # The record being applied still counts as lag (a stuck handler
                        # shows as lag that does not fall).
                        self._report_lag(partition, consumer.highwater(partition),
                                         record.offset)
                        await self._apply_with_retry(record)
                if batch:
                    async with asyncio.timeout(_BROKER_CALL_SECONDS):
                        await consumer.commit()
                # Only a figure for the metrics: never worth holding the consumer for.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_LAG_REPORT_SECONDS):
                        await self._report_lag_of_all(consumer)
            except (asyncio.CancelledError, _LogReplaced):
                raise
            except Exception as error:
                log.warning("consumer cycle failed", extra={"consumer": self.name,
                                                            "error": repr(error)})
                # The fetch moved the positions past the whole batch: back to the committed
                # offsets, or the next commit would pass over records not yet applied. What
                # was applied comes again and the inbox makes it a no-op.
                await self._rewind_to_committed(consumer)
                self._epoch_checked_at = 0.0  # a replaced log is the likeliest cause
                await asyncio.sleep(1.0)

    async def _rewind_to_committed(self, consumer: AIOKafkaConsumer) -> None:
        # Not assigned (any more), or the group's offsets cannot be read: nothing to rewind to.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_BROKER_CALL_SECONDS):
                await self._seek_to_committed(consumer)

    @staticmethod
    async def _seek_to_committed(consumer: AIOKafkaConsumer) -> None:
        for partition in consumer.assignment():
            committed = await consumer.committed(partition)
            if committed is None:
                await consumer.seek_to_beginning(partition)
            else:
                consumer.seek(partition, committed)

    def _report_lag(self, partition: TopicPartition, highwater: int | None,
                    position: int) -> None:
        if highwater is not None:
            consumer_lag.labels(self.name, partition.topic, str(partition.partition)).set(
                max(0, highwater - position))
            self._lag_reported.add(partition)

    async def _report_lag_of_all(self, consumer: AIOKafkaConsumer) -> None:
        """Lag of every partition this member holds (idle ones too); partitions another
        member took over stop being reported here."""
        assigned = consumer.assignment()
        for partition in assigned:
            highwater = consumer.highwater(partition)
            if highwater is None:  # not fetched yet: no figure, and no position to wait for
                continue
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                self._report_lag(partition, highwater, await consumer.position(partition))
        for partition in self._lag_reported - assigned:
            consumer_lag.remove(self.name, partition.topic, str(partition.partition))
        self._lag_reported &= assigned

    async def _replay_now(self, consumer: AIOKafkaConsumer, replay: _Replay) -> None:
        if replay.done.done():  # the caller stopped waiting: it was never started
            return
        try:
            assigned = list(consumer.assignment())
            first = await consumer.beginning_offsets(assigned)
            trimmed = sorted({partition.topic for partition in assigned if first[partition]})
            if trimmed and not replay.force:
                raise HistoryShorterThanModel(
                    f"retention removed the first records of {', '.join(trimmed)}")
            async with transaction(self.sessions) as session:
                applied = await session.scalar(
                    select(func.count()).select_from(processed_event)
                    .where(processed_event.c.consumer == self.name))
                # Positions go back first: a crash after this point replays onto the old
                # model, which the inbox makes harmless; the other order could lose events.
                await consumer.commit({partition: first[partition] for partition in assigned})
                await replay.reset(session)
                await session.execute(delete(processed_event)
                                      .where(processed_event.c.consumer == self.name))
            await consumer.seek_to_beginning(*assigned)
            log.warning("replaying the event history", extra={
                "consumer": self.name, "forgotten": applied, "forced": replay.force})
            if not replay.done.done():
                replay.done.set_result(int(applied or 0))
        except Exception as error:
            if not replay.done.done():
                replay.done.set_exception(error)

    async def _check_log_not_replaced(self) -> None:
        if time.monotonic() - self._epoch_checked_at < self.epoch_check_seconds:
            return
        async with asyncio.timeout(_BROKER_CALL_SECONDS):
            empty = await self.probe.end_offset(self.epoch_topic) == 0
        if empty:
            await self.producer.send_and_wait(self.epoch_topic, uuid.uuid4().bytes, partition=0)
            await self._note_new_log()
            if self._marked:
                raise _LogReplaced
        # A marker found, not only one written: a consumer started again alone (its service
        # restarted) reads the marker of its run before, and must notice when it is gone.
        self._marked = True
        self._epoch_checked_at = time.monotonic()

    async def _note_new_log(self) -> None:
        """A log this consumer has not marked before: if the model already holds events, they
        came from an earlier log (a broker restarted empty), which this one may lack."""
        if self.on_new_log is None:
            return
        async with transaction(self.sessions) as session:
            applied = await session.scalar(select(processed_event.c.event_id).where(
                processed_event.c.consumer == self.name).limit(1))
            if applied is not None:
                await self.on_new_log(session)

    async def _apply_with_retry(self, record: ConsumerRecord) -> None:
        """Apply one record. One that breaks its contract is set aside on the dead-letter
        topic (it would fail the same way forever); a handler that fails is retried until it
        succeeds, holding its partition, because skipping it would lose the event for good."""
        try:
            routed = self.handlers.parse(parse_envelope(record.value), topic=record.topic)
        except MalformedEvent as error:
            await self._dead_letter(record, str(error))
            return
        if routed is None:
            return
        route, event = routed
        failures, delay = 0, 0.2
        while True:
            try:
                await self.apply(route, event, record.headers)
                break
            except Exception as error:
                failures += 1
                consumer_retries.labels(self.name).inc()
                consumer_failing.labels(self.name).set(failures)
                level = logging.ERROR if failures >= _ALARM_AFTER else logging.WARNING
                log.log(level, "handler failed; retrying", exc_info=failures == _ALARM_AFTER,
                        extra={"consumer": self.name, "event_type": event.type,
                               "event_id": str(event.id), "topic": record.topic,
                               "offset": record.offset, "failures": failures,
                               "error": repr(error)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        if failures:
            consumer_failing.labels(self.name).set(0)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """Keep the record as it came, with where it came from and why it was set aside.
        A failed send raises: the offset is not committed and the record comes again."""
        headers = [*(record.headers or ()),
                   ("govshare-dead-letter-reason", reason[:2000].encode()),
                   ("govshare-source-topic", record.topic.encode()),
                   ("govshare-source-partition", str(record.partition).encode()),
                   ("govshare-source-offset", str(record.offset).encode())]
        await self.producer.send_and_wait(self.dead_letter_topic, record.value, key=record.key,
                                          headers=headers)
        consumer_events.labels(self.name, self._known_type_of(record.value),
                               "dead_lettered").inc()
        log.error("event set aside on the dead-letter topic", extra={
            "consumer": self.name, "topic": record.topic, "offset": record.offset,
            "dead_letter_topic": self.dead_letter_topic, "reason": reason})

    def _known_type_of(self, raw: bytes) -> str:
        """The type a set-aside record claims if this group handles it (a label of a bounded
        set: a sender cannot make the metric grow), else "unknown"."""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            claimed = json.loads(raw).get("type")
            if claimed in self.handlers.event_types:
                return str(claimed)
        return "unknown"

    async def apply(self, route: Route, event: Event[Any], headers: KafkaHeaders = ()) -> bool:
        """Apply one parsed event, in a span of the trace its `headers` carry; False if it
        was already applied."""
        with tracer.start_as_current_span(
                f"process {topic_for(event.type)}", context=context_from_headers(headers),
                kind=SpanKind.CONSUMER, attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": topic_for(event.type),
                    "messaging.consumer.group.name": self.name,
                    "messaging.message.id": str(event.id),
                    "govshare.event.type": event.type}) as span:
            applied = await self._apply_once(route, event)
            span.set_attribute("govshare.event.duplicate", not applied)
        consumer_events.labels(self.name, event.type,
                               "applied" if applied else "duplicate").inc()
        return applied

    async def _apply_once(self, route: Route, event: Event[Any]) -> bool:
        async with transaction(self.sessions) as session:
            first_time = await session.scalar(
                insert(processed_event)
                .values(consumer=self.name, event_id=event.id)
                .on_conflict_do_nothing()
                .returning(processed_event.c.event_id)
            )
            if first_time is None:
                return False
            await route.handler(session, event, self.outbox)
        return True


