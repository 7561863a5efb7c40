"""C7 without a database: which duplicate-collection flags the catalog announces as raised
or cleared, and how the evaluation keeps a clearance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.catalog import collection
from services.catalog.models import DuplicateCollectionFlag, Entry
from services.evaluation import handlers as evaluation
from shared.contracts.catalog import (
    ClearedBecause,
    DuplicateCollectionCleared,
    DuplicateCollectionFlagged,
    EntrySpec,
)
from shared.handlers import event_of
from tests import factories
from tests.unit.fakes import RecordingOutbox, RecordingSession

PROVIDER, A, B = factories.credit_code(), factories.credit_code(), factories.credit_code()


def entry(status: str = "published") -> Entry:
    return Entry(id=uuid.uuid4(), code="101001/000001", provider=PROVIDER, name="人口",
                 status=status, version=2, spec=factories.population_entry())


def flag(item_code: str, responsible: str, name: str = "姓名") -> DuplicateCollectionFlag:
    return DuplicateCollectionFlag(entry_id=uuid.uuid4(), item_code=item_code, item_name=name,
                                   provider=PROVIDER, responsible_department=responsible)


def standing(responsible: str) -> collection.StandingFlag:
    return collection.StandingFlag(responsible, "姓名", datetime(2026, 3, 2, tzinfo=UTC))


def said(outbox: RecordingOutbox) -> list[tuple[str, str, str, str | None]]:
    """What was announced: raised or cleared, item, department, and why cleared."""
    return [(type(event).__name__, event.item_code, event.responsible_department,  # type: ignore[attr-defined]
             getattr(event, "reason", None)) for _, event in outbox.events]


async def test_a_changed_entry_announces_only_the_flags_that_changed() -> None:
    published = entry()
    spec = EntrySpec.model_validate(published.spec)  # items XM, GMSFHM, CSRQ
    previous = {"XM": standing(A), "CSRQ": standing(A),
                "HJDZ": standing(B)}  # HJDZ is no longer an item of the entry
    now = [flag("XM", B), flag("CSRQ", A, "出生日期"), flag("GMSFHM", B, "公民身份号码")]
    outbox = RecordingOutbox()
    await collection._announce(RecordingSession(), outbox, published, spec, previous, now)
    assert said(outbox) == [
        ("DuplicateCollectionCleared", "XM", A, ClearedBecause.responsibility_changed),
        ("DuplicateCollectionCleared", "HJDZ", B, ClearedBecause.item_removed),
        ("DuplicateCollectionFlagged", "XM", B, None),
        ("DuplicateCollectionFlagged", "GMSFHM", B, None)]  # CSRQ stands as it stood
    raised = [event for _, event in outbox.events
              if isinstance(event, DuplicateCollectionFlagged)]
    assert [event.identifies_subject for event in raised] == [False, True]
    assert {key for key, _ in outbox.events} == {PROVIDER}  # one partition: in order


@pytest.fixture
def flags_of(monkeypatch: pytest.MonkeyPatch) -> list[DuplicateCollectionFlag]:
    """The entry's stored flags, as `collection.flags_of` would read them."""
    stored = [flag("XM", A)]

    async def read(session: Any, entry: Entry) -> list[DuplicateCollectionFlag]:
        return stored

    monkeypatch.setattr(collection, "flags_of", read)
    return stored


async def test_a_draft_is_flagged_silently_and_announced_when_published(
    flags_of: list[DuplicateCollectionFlag]
) -> None:
    outbox = RecordingOutbox()
    await collection.announce_published(RecordingSession(), outbox, entry())
    assert said(outbox) == [("DuplicateCollectionFlagged", "XM", A, None)]


async def test_a_withdrawn_entry_clears_every_flag_it_had(
    flags_of: list[DuplicateCollectionFlag]
) -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    await collection.clear_withdrawn(session, outbox, entry("withdrawn"))
    assert said(outbox) == [("DuplicateCollectionCleared", "XM", A,
                             ClearedBecause.entry_withdrawn)]
    assert session.tables() == ["duplicate_collection_flag"]  # and the rows go
    [kept] = session.added  # what the flag was and why it went, for its department
    assert (kept.entry_code, kept.item_code, kept.responsible_department,
            kept.cleared_because) == ("101001/000001", "XM", A, ClearedBecause.entry_withdrawn)


async def test_the_evaluation_keeps_a_clearance_at_its_business_time() -> None:
    session, when = RecordingSession(), datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
    cleared = DuplicateCollectionCleared(entry_code="101001/000001", provider=PROVIDER,
                                         item_code="XM", responsible_department=A,
                                         reason=ClearedBecause.item_removed)
    event = event_of(cleared, time=when)
    await evaluation.duplicate_cleared(session, event, RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["duplicate_clearance"]
    assert (written["event_id"], written["cleared_at"], written["reason"]) == (
        event.id, when, "item_removed")
    assert DuplicateCollectionCleared.event_type in evaluation.handlers.event_types
