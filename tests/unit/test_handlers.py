"""Each service's event handlers, run against fakes (no database, no broker): what a handler
writes, what it asks the domain to do, and which events each service applies at all."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.authorization import handlers as authorization
from services.catalog import handlers as catalog
from services.evaluation import handlers as evaluation
from services.exchange import freshness
from services.exchange import handlers as exchange
from services.exchange.ingest_auth import IngestGate, Sender
from services.exchange.models import Resource
from shared.contracts import DepartmentRegistered, DepartmentUpdated, NodeLinked
from shared.contracts.catalog import (
    EntryPublished,
    EntrySnapshot,
    EntryUpdated,
    EntryWithdrawn,
    HolidayScheduleLoaded,
)
from shared.contracts.exchange import (
    AuditSealed,
    IngestRecord,
    IngestRejected,
    RecordsLoaded,
    SourceApiRegistered,
    UsageCount,
)
from shared.contracts.sharing import GRANT_EVENTS, REQUEST_EVENTS
from shared.events import EventData, EventEnvelope, EventSource
from shared.handlers import Handlers, MalformedEvent, event_of
from shared.tokens import KeySet, TokenVerifier
from tests import factories
from tests.unit.fakes import RecordingOutbox, RecordingSession

SOURCE = EventSource(node="320100-external", service="catalog")
INGEST_GATE = IngestGate(TokenVerifier(KeySet(lambda: asyncio.sleep(0, {"keys": []}))),
                         "320100-external", max_age_seconds=600)


def entry(status: str = "published", version: int = 2) -> EntrySnapshot:
    return EntrySnapshot.model_validate({
        **factories.population_entry(), "code": "101001/000001",
        "provider": factories.credit_code(), "provider_name": "南京市公安局",
        "status": status, "version": version, "node": "320100-external"})


def envelope(payload: EventData) -> EventEnvelope:
    return EventEnvelope(type=payload.event_type, key="k", source=SOURCE,
                         data=payload.model_dump(mode="json"))


# --- the registry ---------------------------------------------------------------------------

async def _noop(session: Any, event: Any, outbox: Any) -> None:
    return None


def test_the_registry_parses_a_payload_into_its_class() -> None:
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    registered = DepartmentRegistered(credit_code=factories.credit_code(), name="南京市民政局",
                                      tier="municipal", region_code="320100")
    route, event = handlers.parse(envelope(registered))  # type: ignore[misc]
    assert route.handler is _noop
    assert isinstance(event.payload, DepartmentRegistered)
    assert event.payload == registered and event.source == SOURCE


def test_an_event_type_the_service_does_not_apply_is_not_routed() -> None:
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    other = DepartmentUpdated(credit_code=factories.credit_code(), name="南京市民政局",
                              tier="municipal", region_code="320100")
    assert handlers.parse(envelope(other)) is None


def test_a_payload_off_its_contract_is_malformed_not_skipped() -> None:
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    off_contract = EventEnvelope(type=DepartmentRegistered.event_type, key="k", source=SOURCE,
                                 data={"credit_code": "x", "tier": "galactic"})
    with pytest.raises(MalformedEvent, match="tier"):
        handlers.parse(off_contract)


def test_one_handler_per_event_type() -> None:
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    with pytest.raises(ValueError, match="already has a handler"):
        handlers.add(DepartmentRegistered, _noop)


def test_each_service_applies_the_events_its_read_models_need() -> None:
    entry_events = {EntryPublished.event_type, EntryUpdated.event_type,
                    EntryWithdrawn.event_type}
    assert catalog.handlers.event_types == {
        DepartmentRegistered.event_type, DepartmentUpdated.event_type, NodeLinked.event_type,
        # what search orders ties by: entries that hold data, are fresh, are used (C9)
        RecordsLoaded.event_type, SourceApiRegistered.event_type, AuditSealed.event_type}
    assert authorization.handlers.event_types == entry_events | {
        HolidayScheduleLoaded.event_type}
    assert exchange.with_ingest(INGEST_GATE).event_types == entry_events | {
        event.event_type for event in GRANT_EVENTS} | {IngestRecord.event_type}
    assert entry_events | {event.event_type for event in REQUEST_EVENTS} \
        <= evaluation.handlers.event_types


# --- authorization: the catalog reaches requests and grants ---------------------------------

@pytest.fixture
def sharing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The domain calls authorization's entry handler makes, recorded instead of run."""
    calls: list[tuple[str, Any]] = []

    async def stored(session: Any, snapshot: EntrySnapshot) -> bool:
        calls.append(("stored", snapshot.version))
        return snapshot.version > 1  # version 1 plays a late event: already superseded

    def recorder(name: str) -> Any:
        async def record(session: Any, outbox: Any, code: str, detail: Any) -> None:
            calls.append((name, detail))
        return record

    monkeypatch.setattr(authorization.resources, "store_if_newer", stored)
    for module, name in ((authorization.requests, "close_for_withdrawn_entry"),
                         (authorization.grants, "end_for_entry"),
                         (authorization.grants, "narrow_to_catalogued")):
        monkeypatch.setattr(module, name, recorder(name))
    return calls


async def test_a_withdrawn_entry_closes_its_requests_and_ends_its_grants(
    sharing: list[tuple[str, Any]]
) -> None:
    withdrawn = entry(status="withdrawn")
    await authorization.apply_entry(
        RecordingSession(), event_of(EntryWithdrawn(entry=withdrawn, changed_by="u")),
        RecordingOutbox())
    reason = f"Catalog entry {withdrawn.code} was withdrawn."
    assert sharing == [("stored", 2), ("close_for_withdrawn_entry", reason),
                       ("end_for_entry", reason)]


async def test_an_updated_entry_narrows_grants_to_its_items(
    sharing: list[tuple[str, Any]]
) -> None:
    await authorization.apply_entry(
        RecordingSession(), event_of(EntryUpdated(entry=entry(), changed_by="u")),
        RecordingOutbox())
    assert sharing == [("stored", 2), ("narrow_to_catalogued", {"XM", "GMSFHM", "CSRQ"})]


async def test_a_late_entry_event_changes_no_grant(sharing: list[tuple[str, Any]]) -> None:
    await authorization.apply_entry(
        RecordingSession(), event_of(EntryWithdrawn(entry=entry("withdrawn", version=1),
                                                    changed_by="u")), RecordingOutbox())
    assert sharing == [("stored", 1)]


async def test_a_loaded_schedule_is_mirrored_for_the_deadlines() -> None:
    session = RecordingSession()
    schedule = HolidayScheduleLoaded(year=2027, holidays=[date(2027, 1, 1)],
                                     adjusted_workdays=[date(2027, 2, 20)])
    await authorization.mirror_schedule(session, event_of(schedule), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["holiday_schedule"] and written["year"] == 2027


# --- exchange: its view of entries, and streamed records ------------------------------------

async def test_the_exchange_keys_records_by_the_items_that_identify_the_subject() -> None:
    session = RecordingSession()
    await exchange.apply_entry(session, event_of(EntryPublished(entry=entry(), changed_by="u")),
                               RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["resource"]
    assert written["key_items"] == ["GMSFHM"] and written["version"] == 2


async def test_a_streamed_record_from_an_admitted_sender_is_handed_to_loading_with_its_id(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[IngestRecord, uuid.UUID]] = []

    async def apply_ingested(session: Any, ingested: IngestRecord, ingest_id: uuid.UUID,
                             outbox: Any) -> None:
        seen.append((ingested, ingest_id))

    async def admit(resource: Any, ingested: IngestRecord, ingest_id: uuid.UUID) -> Sender:
        return Sender("gsc_people", "113201000141428938")

    monkeypatch.setattr(exchange.loading, "apply_ingested", apply_ingested)
    monkeypatch.setattr(INGEST_GATE, "admit", admit)
    record = IngestRecord(entry_code="101001/000001", record={"XM": "张伟"})
    event = event_of(record)
    await exchange.store_ingested(INGEST_GATE, RecordingSession(), event, RecordingOutbox())
    assert seen == [(record, event.id)]


def resource() -> Resource:
    return Resource(code="101001/000001", provider=factories.credit_code(), name="人口",
                    status="published", version=2, update_cycle="realtime",
                    items=[{"code": "GMSFHM", "name": "公民身份号码", "data_type": "C",
                            "length": 18, "identifies_subject": True},
                           {"code": "XM", "name": "姓名", "data_type": "C", "length": 50}],
                    key_items=["GMSFHM"])


@pytest.mark.parametrize(("record", "counted"), [
    ({"GMSFHM": factories.id_number(), "XM": "张伟"}, "ingested_accepted"),
    ({"GMSFHM": "123", "XM": "张伟"}, "ingested_rejected"),
])
async def test_a_streamed_record_is_counted_on_its_entry_for_the_sweep_to_announce(
    record: dict[str, str], counted: str
) -> None:
    session, outbox = RecordingSession(got=resource()), RecordingOutbox()
    await exchange.loading.apply_ingested(
        session, IngestRecord(entry_code="101001/000001", record=record), uuid.uuid4(), outbox)
    # Incremented by the database: the sweep resets the count concurrently.
    assert f"SET {counted}=(resource.{counted} + " in session.sql()[-1]
    assert [type(event) for _, event in outbox.events] == (
        [] if counted == "ingested_accepted" else [IngestRejected])


async def test_the_sweep_announces_each_entry_streamed_into_once_with_its_counts() -> None:
    loaded_at, now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 5,
                                                                        tzinfo=UTC)
    session = RecordingSession(rows=[("101001/000001", "p1", 120, 2, loaded_at),
                                     ("101001/000002", "p2", 0, 3, None)])
    outbox = RecordingOutbox()
    assert await freshness.announce_streamed_loads(session, outbox, now) == 2
    assert outbox.events == [
        ("101001/000001", RecordsLoaded(entry_code="101001/000001", provider="p1",
                                        accepted=120, rejected=2, loaded_at=loaded_at)),
        # Nothing was ever accepted: said at the sweep's time, and the evaluation sees no data.
        ("101001/000002", RecordsLoaded(entry_code="101001/000002", provider="p2",
                                        accepted=0, rejected=3, loaded_at=now))]


# --- evaluation: facts with the business times the events carry ---------------------------

async def test_a_withdrawal_is_dated_by_its_event_not_by_its_arrival() -> None:
    session = RecordingSession()
    when = datetime(2025, 6, 30, 9, 0, tzinfo=UTC)
    await evaluation.entry_changed(
        session, event_of(EntryWithdrawn(entry=entry("withdrawn"), changed_by="u"), time=when),
        RecordingOutbox())
    [written] = session.written()
    assert written["withdrawn_at"] == when and written["status"] == "withdrawn"


async def test_each_usage_line_of_a_sealed_batch_is_one_fact_keyed_by_the_event() -> None:
    session = RecordingSession()
    usage = UsageCount(consumer="c", provider="p", entry_code="101001/000001",
                       kind="query", purpose="data_verification", denied=None, accesses=3,
                       records=3)
    sealed = AuditSealed(first_position=1, last_position=3, head_hash="0" * 64,
                         sealed_at=datetime(2025, 12, 31, 17, 0, tzinfo=UTC),
                         usage=[usage, usage.model_copy(update={"accesses": 1})])
    event = event_of(sealed)
    await evaluation.audit_sealed(session, event, RecordingOutbox())
    [written] = session.written()
    # One multi-row insert; a batch sealed before usage carried its day counts on the
    # sealing day, in China Standard Time (the next day there).
    assert written["event_id_m0"] == written["event_id_m1"] == event.id
    assert (written["line_m0"], written["line_m1"]) == (0, 1)
    assert written["day_m0"] == date(2026, 1, 1)


async def test_a_sealed_batch_without_usage_writes_nothing() -> None:
    session = RecordingSession()
    sealed = AuditSealed(first_position=1, last_position=1, head_hash="0" * 64,
                         sealed_at=datetime(2025, 12, 31, tzinfo=UTC), usage=[])
    await evaluation.audit_sealed(session, event_of(sealed), RecordingOutbox())
    assert session.statements == []


def test_an_event_on_a_topic_not_its_own_is_malformed() -> None:
    """Whoever may write the ingest topic cannot pass off a grant there."""
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    registered = DepartmentRegistered(credit_code=factories.credit_code(), name="南京市民政局",
                                      tier="municipal", region_code="320100")
    with pytest.raises(MalformedEvent, match=r"does not belong on govshare\.ingest\.record"):
        handlers.parse(envelope(registered), topic="govshare.ingest.record")
    assert handlers.parse(envelope(registered), topic="govshare.identity.department")


def test_another_version_of_a_handled_event_is_malformed_not_ignored() -> None:
    handlers = Handlers()
    handlers.add(DepartmentRegistered, _noop)
    newer = EventEnvelope(type="identity.department.registered.v2", key="k", source=SOURCE,
                          data={})
    with pytest.raises(MalformedEvent, match="another version"):
        handlers.parse(newer)


def test_a_refused_payload_is_described_without_its_values() -> None:
    """The reason goes into logs and a Kafka header: never a person's data."""
    handlers = Handlers()
    handlers.add(IngestRecord, _noop)
    leaking = EventEnvelope(type=IngestRecord.event_type, key="k", source=SOURCE,
                            data={"entry_code": ["320102197805051230"], "record": "张伟"})
    with pytest.raises(MalformedEvent) as refused:
        handlers.parse(leaking)
    assert "320102197805051230" not in str(refused.value) and "张伟" not in str(refused.value)
    assert "entry_code" in str(refused.value)
