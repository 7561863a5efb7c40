"""Outbox out, idempotent consumers in — no event lost, none applied twice.

These tests use the common library directly against the session's real PostgreSQL and real
brokers; the outage test runs its own broker so that it can stop and replace it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from prometheus_client import REGISTRY
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cli.embedded import EmbeddedBroker, free_port
from shared.consumer import IdempotentConsumer
from shared.db import create_engine, create_session_factory, transaction
from shared.events import EventData, EventEnvelope, topic_for
from shared.handlers import Event, Handler, Handlers
from shared.kafka import BrokerProbe, create_producer
from shared.messaging_tables import messaging_metadata
from shared.outbox import Outbox, OutboxRelay
from tests.conftest import Infrastructure

# Failures in a row at which a handler alarms: an ERROR with its traceback, and the gauge
# k8s/base/alerts.yaml's GovshareHandlerFailing reads (`>= 5`).
ALARM_AFTER = 5


class ParcelRegistered(EventData):
    event_type = "testing.parcel.registered.v1"
    parcel: str


effects = MetaData()
effect = Table("effect", effects, Column("event_id", Uuid, nullable=False),
               Column("parcel", String(50), nullable=False))


@dataclass
class Messaging:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    consumer_name: str


@pytest.fixture
async def messaging(infrastructure: Infrastructure) -> AsyncIterator[Messaging]:
    """A throwaway schema holding the messaging tables and an effect table."""
    schema = f"outbox_test_{uuid.uuid4().hex[:8]}"
    engine = create_engine(infrastructure.database_url, schema=schema)
    async with engine.begin() as connection:
        await connection.execute(text(f'create schema "{schema}"'))
        await connection.run_sync(messaging_metadata.create_all)
        await connection.run_sync(effects.create_all)
    try:
        yield Messaging(engine, create_session_factory(engine),
                        Outbox(node="test-node", service=schema), f"consumer-{schema}")
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'drop schema "{schema}" cascade'))
        await engine.dispose()


async def record_effect(session: AsyncSession, event: Event[ParcelRegistered],
                        outbox: Outbox) -> None:
    # No unique constraint on purpose: a second application would show as a second row.
    await session.execute(insert(effect).values(event_id=event.id,
                                                parcel=event.payload.parcel))


def handlers_of(payload: type[EventData], handler: Handler) -> Handlers:
    handlers = Handlers()
    handlers.add(payload, handler)
    return handlers


async def write_events(messaging: Messaging, parcels: list[str]) -> None:
    for parcel in parcels:
        async with transaction(messaging.sessions) as session:
            await messaging.outbox.add(session, parcel, ParcelRegistered(parcel=parcel))


async def effect_counts(messaging: Messaging) -> tuple[int, int]:
    """(rows, distinct events) in the effect table."""
    async with messaging.sessions() as session:
        row = (await session.execute(
            select(func.count(), func.count(effect.c.event_id.distinct())))).one()
    return int(row[0]), int(row[1])


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    """Wait for `check` to hold, polling; fail after `within` seconds."""
    async with asyncio.timeout(within):
        # The condition lives in PostgreSQL, written by another task: there is no event to await.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running(*coroutines: Awaitable[None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]  # type: ignore[arg-type]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass
class Pipeline:
    """A relay out of the test outbox and a consumer applying its events, as a service runs."""

    relay: OutboxRelay
    consumer: IdempotentConsumer


@contextlib.asynccontextmanager
async def pipeline_for(messaging: Messaging, bootstrap: str,
                       relay_class: type[OutboxRelay] = OutboxRelay) -> AsyncIterator[Pipeline]:
    producer = create_producer(bootstrap, "test-relay")
    probe = BrokerProbe(bootstrap, "test-probe")
    await producer.start()
    await probe.start()
    try:
        yield Pipeline(
            relay_class(sessions=messaging.sessions, producer=producer, probe=probe,
                        service=messaging.outbox.source.service, poll_seconds=0.05),
            IdempotentConsumer(name=messaging.consumer_name,
                               handlers=handlers_of(ParcelRegistered, record_effect),
                               sessions=messaging.sessions, outbox=messaging.outbox,
                               bootstrap_servers=bootstrap, producer=producer, probe=probe),
        )
    finally:
        await producer.stop()
        await probe.stop()


def consumer_of(pipeline: Pipeline, messaging: Messaging, bootstrap: str,
                payload: type[EventData], handler: Handler) -> IdempotentConsumer:
    """A consumer of the test's group applying `payload` events with `handler`, sharing the
    pipeline's producer and probe."""
    return IdempotentConsumer(
        name=messaging.consumer_name, handlers=handlers_of(payload, handler),
        sessions=messaging.sessions, outbox=messaging.outbox, bootstrap_servers=bootstrap,
        producer=pipeline.relay.producer, probe=pipeline.relay.probe)


class DiesBeforeMarking(OutboxRelay):
    """A relay that crashes after the broker has the events but before it marks the rows."""

    async def _mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        raise RuntimeError("relay process died")


async def records_on_broker(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record the broker holds on `topic` (read until it has nothing more)."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              group_id=None, enable_auto_commit=False)
    await reader.start()
    found: list[ConsumerRecord] = []
    try:
        idle_polls = 0
        while idle_polls < 3:  # the first polls may come before the partitions are fetched
            batch = await reader.getmany(timeout_ms=1000)
            idle_polls = 0 if batch else idle_polls + 1
            found += [record for records in batch.values() for record in records]
    finally:
        await reader.stop()
    return found


async def envelopes_on_broker(bootstrap: str) -> list[EventEnvelope]:
    return [EventEnvelope.model_validate_json(record.value) for record in
            await records_on_broker(bootstrap, topic_for(ParcelRegistered.event_type))]


async def test_event_written_in_the_transaction_reaches_a_real_consumer_once_despite_a_relay_crash(
    messaging: Messaging, infrastructure: Infrastructure
) -> None:
    bootstrap = infrastructure.bootstrap_servers
    parcel = f"parcel-{uuid.uuid4().hex[:8]}"
    async with transaction(messaging.sessions) as session:
        envelope = await messaging.outbox.add(session, parcel, ParcelRegistered(parcel=parcel))

    async with pipeline_for(messaging, bootstrap, DiesBeforeMarking) as dying:
        with pytest.raises(RuntimeError, match="died"):
            await dying.relay.publish_batch()
    async with pipeline_for(messaging, bootstrap) as pipeline:
        assert await pipeline.relay.publish_batch() == 1  # never marked: sent again
        assert await pipeline.relay.publish_batch() == 0

        on_broker = await envelopes_on_broker(bootstrap)
        assert [e.id for e in on_broker].count(envelope.id) == 2
        async with running(pipeline.consumer.run()):
            await eventually(lambda: _applied(messaging, 1))
            await asyncio.sleep(1.0)  # give the duplicate every chance to be applied wrongly
    assert await effect_counts(messaging) == (1, 1)
    # Operators see the redelivery that was absorbed.
    assert consumed(messaging.consumer_name, "duplicate") == 1


async def _applied(messaging: Messaging, expected: int) -> bool:
    return (await effect_counts(messaging))[1] >= expected


async def test_no_event_is_lost_or_applied_twice_when_the_broker_restarts_empty(
    messaging: Messaging, infrastructure: Infrastructure
) -> None:
    broker = EmbeddedBroker(free_port(), log_file=infrastructure.workdir / "outage-broker.log")
    bootstrap = broker.start()
    try:
        async with pipeline_for(messaging, bootstrap) as pipeline, \
                running(pipeline.relay.run(), pipeline.consumer.run()):
            await write_events(messaging, [f"before-{i}" for i in range(20)])
            await eventually(lambda: _applied(messaging, 20))

            broker.stop()
            await write_events(messaging, [f"during-{i}" for i in range(20)])
            await asyncio.sleep(1.0)
            broker.start()  # a new, empty broker on the same address
            await write_events(messaging, [f"after-{i}" for i in range(20)])

            await eventually(lambda: _applied(messaging, 60), within=120)
            await asyncio.sleep(2.0)  # replays of the first 20 arrive too; none may apply
        assert await effect_counts(messaging) == (60, 60)
        # The new broker holds the events written before the outage too: they were replayed.
        replayed = {e.data["parcel"] for e in await envelopes_on_broker(bootstrap)}
        assert {f"before-{i}" for i in range(20)} <= replayed
    finally:
        broker.stop()


async def test_two_relay_replicas_never_send_the_same_row(
    messaging: Messaging, infrastructure: Infrastructure
) -> None:
    bootstrap = infrastructure.bootstrap_servers
    parcels = [f"replica-{uuid.uuid4().hex[:8]}" for _ in range(200)]
    await write_events(messaging, parcels)
    async with pipeline_for(messaging, bootstrap) as first, \
            pipeline_for(messaging, bootstrap) as second:
        first.relay.batch_size = second.relay.batch_size = 20
        while sum(await asyncio.gather(first.relay.publish_batch(),
                                       second.relay.publish_batch())):
            pass
    sent = [e.data["parcel"] for e in await envelopes_on_broker(bootstrap)
            if e.data["parcel"] in set(parcels)]
    assert sorted(sent) == sorted(parcels)


class LagProbed(EventData):
    """On a topic of its own, so that the lag seen is this test's alone."""

    event_type = "testing.lag_probe.recorded.v1"
    parcel: str


def consumed(group: str, outcome: str, event_type: str = ParcelRegistered.event_type) -> float:
    return REGISTRY.get_sample_value("govshare_consumer_events_total", {
        "group": group, "type": event_type, "outcome": outcome}) or 0.0


def lag(group: str) -> float | None:
    """The consumer's lag summed over its partitions."""
    found = [sample.value for family in REGISTRY.collect()
             if family.name == "govshare_consumer_lag_events" for sample in family.samples
             if sample.labels["group"] == group]
    return sum(found) if found else None


async def test_a_stuck_handler_shows_as_lag_that_clears_once_it_moves_on(
    messaging: Messaging, infrastructure: Infrastructure
) -> None:
    bootstrap = infrastructure.bootstrap_servers
    held, released = asyncio.Event(), asyncio.Event()
    hold = f"hold-{uuid.uuid4().hex[:8]}"

    async def slow_on_hold(session: AsyncSession, event: Event[LagProbed],
                           outbox: Outbox) -> None:
        if event.payload.parcel == hold:
            held.set()
            await released.wait()
        await record_effect(session, event, outbox)

    async with transaction(messaging.sessions) as session:  # one key: one partition, in order
        for parcel in [hold, *(f"{hold}-behind-{i}" for i in range(4))]:
            await messaging.outbox.add(session, hold, LagProbed(parcel=parcel))
    async with pipeline_for(messaging, bootstrap) as pipeline:
        consumer = consumer_of(pipeline, messaging, bootstrap, LagProbed, slow_on_hold)
        async with running(pipeline.relay.run(), consumer.run()):
            await asyncio.wait_for(held.wait(), 60)
            # The held event and the four behind it wait; the figure stays while it is stuck.
            await eventually(lambda: _is(lag(messaging.consumer_name), 5))
            await asyncio.sleep(1.0)
            assert lag(messaging.consumer_name) == 5
            assert consumed(messaging.consumer_name, "applied", LagProbed.event_type) == 0
            released.set()
            await eventually(lambda: _is(lag(messaging.consumer_name), 0))
            assert consumed(messaging.consumer_name, "applied", LagProbed.event_type) == 5


async def _is(value: float | None, expected: float) -> bool:
    return value == expected


class ContractProbed(EventData):
    """On a topic of its own, so that the records set aside are this test's alone."""

    event_type = "testing.contract_probe.recorded.v1"
    parcel: str


async def test_records_off_their_contract_go_to_the_dead_letter_topic_and_the_rest_apply(
    messaging: Messaging, infrastructure: Infrastructure
) -> None:
    bootstrap = infrastructure.bootstrap_servers
    key = f"contract-{uuid.uuid4().hex[:8]}"
    topic = topic_for(ContractProbed.event_type)
    no_envelope = b"{not json"
    old_payload = EventEnvelope(  # a payload of another version of the contract
        type=ContractProbed.event_type, key=key, data={"parcel_id": 7},
        source={"node": "test-node", "service": "elsewhere"}).model_dump_json().encode()
    async with pipeline_for(messaging, bootstrap) as pipeline:
        for raw in (no_envelope, old_payload):
            await pipeline.relay.producer.send_and_wait(topic, raw, key=key.encode())
        async with transaction(messaging.sessions) as session:
            await messaging.outbox.add(session, key, ContractProbed(parcel=key))
        consumer = consumer_of(pipeline, messaging, bootstrap, ContractProbed, record_effect)
        async with running(pipeline.relay.run(), consumer.run()):
            await eventually(lambda: _applied(messaging, 1))
        set_aside = await records_on_broker(bootstrap, consumer.dead_letter_topic)
    assert [record.value for record in set_aside] == [no_envelope, old_payload]
    reasons = [dict(record.headers)["govshare-dead-letter-reason"].decode()
               for record in set_aside]
    assert reasons[0].startswith("envelope") and "parcel" in reasons[1]
    assert {dict(record.headers)["govshare-source-topic"] for record in set_aside} == {
        topic.encode()}
    assert consumed(messaging.consumer_name, "dead_lettered", "unknown") == 1
    assert consumed(messaging.consumer_name, "dead_lettered", ContractProbed.event_type) == 1
    assert await effect_counts(messaging) == (1, 1)


class FailureProbed(EventData):
    event_type = "testing.failure_probe.recorded.v1"
    parcel: str


async def test_a_failing_handler_is_retried_until_it_applies_and_alarms_meanwhile(
    messaging: Messaging, infrastructure: Infrastructure, caplog: pytest.LogCaptureFixture
) -> None:
    bootstrap = infrastructure.bootstrap_servers
    attempts: list[int] = []
    failing_when_retried: list[float | None] = []

    async def fails_up_to_the_alarm(session: AsyncSession, event: Event[FailureProbed],
                                    outbox: Outbox) -> None:
        attempts.append(1)
        if len(attempts) <= ALARM_AFTER:
            raise ValueError("a business rule that does not hold yet")
        # What Prometheus scraped while the event waited (GovshareHandlerFailing fires at 5).
        failing_when_retried.append(_sample("govshare_consumer_handler_failures_in_a_row",
                                            messaging.consumer_name))
        await record_effect(session, event, outbox)

    async with transaction(messaging.sessions) as session:
        await messaging.outbox.add(session, "failing", FailureProbed(parcel="failing"))
    async with pipeline_for(messaging, bootstrap) as pipeline:
        consumer = consumer_of(pipeline, messaging, bootstrap, FailureProbed,
                               fails_up_to_the_alarm)
        with caplog.at_level(logging.WARNING, logger="shared.consumer"):
            async with running(pipeline.relay.run(), consumer.run()):
                await eventually(lambda: _applied(messaging, 1))
    assert len(attempts) == ALARM_AFTER + 1 and await effect_counts(messaging) == (1, 1)
    assert failing_when_retried == [ALARM_AFTER]
    assert _sample("govshare_consumer_handler_retries_total",
                   messaging.consumer_name) == ALARM_AFTER
    retries = [record for record in caplog.records if record.getMessage() ==
               "handler failed; retrying" and record.__dict__.get("consumer")
               == messaging.consumer_name]
    assert [record.levelno for record in retries] == [logging.WARNING] * (ALARM_AFTER - 1) + [
        logging.ERROR]
    alarm = retries[-1]
    assert alarm.exc_info is not None and alarm.__dict__["failures"] == ALARM_AFTER
    assert alarm.__dict__["event_type"] == FailureProbed.event_type
    # Back to 0 once it applied: the alarm clears by itself.
    assert _sample("govshare_consumer_handler_failures_in_a_row",
                   messaging.consumer_name) == 0


def _sample(name: str, group: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"group": group})
