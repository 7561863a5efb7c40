"""The catalog's handlers of identity's and the exchange's events, run against fakes: its read
models of the departments (who may provide an entry), of the linked nodes (where the catalog
is aggregated, F1) and of each entry's data (search ranks equally relevant entries by it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.catalog import handlers as catalog
from shared.contracts import DepartmentRegistered, DepartmentUpdated, NodeLinked
from shared.contracts.exchange import (
    AccessKind,
    AuditSealed,
    RecordsLoaded,
    SourceApiRegistered,
    UsageCount,
)
from shared.contracts.identity import LinkedNode
from shared.handlers import event_of
from tests import factories
from tests.unit import events
from tests.unit.fakes import Conflict, RecordingOutbox, RecordingSession


@pytest.mark.parametrize("announced", [DepartmentRegistered, DepartmentUpdated])
async def test_a_department_is_kept_as_identity_last_said_it(
    announced: type[DepartmentRegistered | DepartmentUpdated]
) -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    department = events.department(announced, tier="county", region_code="320102")
    await catalog.upsert_department(session, event_of(department), outbox)
    [written] = session.written()
    assert session.tables() == ["department"]
    assert {name: written[name] for name in ("credit_code", "name", "tier", "region_code")} \
        == {"credit_code": department.credit_code, "name": department.name,
            "tier": "county", "region_code": "320102"}
    # A renamed or moved department overwrites what was kept, whatever the event.
    assert session.conflicts() == [Conflict(frozenset(
        {"credit_code", "name", "tier", "region_code"}))]
    assert outbox.events == []


async def test_a_linked_node_is_kept_with_where_to_reach_it() -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    parent = LinkedNode(node_id="320000-external", name="江苏省政务数据共享平台",
                        tier="provincial", region_code="320000", zone="external",
                        relation="parent", gateway_url="https://gateway.js.gov.cn",
                        jwks_url="https://gateway.js.gov.cn/.well-known/jwks.json")
    await catalog.node_linked(session, event_of(NodeLinked(node=parent)), outbox)
    [written] = session.written()
    assert session.tables() == ["linked_node"]
    assert {name: written[name] for name in parent.model_dump()} == parent.model_dump(
        mode="json")
    assert session.conflicts() == [Conflict(frozenset(parent.model_dump()))]
    assert outbox.events == []


def test_each_event_reaches_its_own_handler() -> None:
    assert {event_type: catalog.handlers.route_for(event_type).handler  # type: ignore[union-attr]
            for event_type in catalog.handlers.event_types} == {
        DepartmentRegistered.event_type: catalog.upsert_department,
        DepartmentUpdated.event_type: catalog.upsert_department,
        NodeLinked.event_type: catalog.node_linked,
        RecordsLoaded.event_type: catalog.records_loaded,
        SourceApiRegistered.event_type: catalog.source_api_registered,
        AuditSealed.event_type: catalog.audit_sealed}


# --- what the exchange says of an entry's data: search ranks ties by it (C9) ---------------

CODE, WHEN = "202001/000001", datetime(2026, 11, 30, 9, tzinfo=UTC)


async def test_a_load_marks_the_entry_as_holding_data_since_its_first_load() -> None:
    session = RecordingSession()
    loaded = RecordsLoaded(entry_code=CODE, provider=factories.credit_code(), accepted=200,
                           rejected=0, loaded_at=WHEN)
    await catalog.records_loaded(session, event_of(loaded), RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert session.tables() == ["entry_activity"]
    assert written["data_since"] == written["last_loaded_at"] == WHEN
    assert "least(entry_activity.data_since, excluded.data_since)" in sql
    assert "greatest(entry_activity.last_loaded_at, excluded.last_loaded_at)" in sql


async def test_a_load_that_took_no_record_holds_no_data() -> None:
    session = RecordingSession()
    refused = RecordsLoaded(entry_code=CODE, provider=factories.credit_code(), accepted=0,
                            rejected=3, loaded_at=WHEN)
    await catalog.records_loaded(session, event_of(refused), RecordingOutbox())
    assert session.statements == []


async def test_data_served_from_the_providers_own_api_is_data_held() -> None:
    session = RecordingSession()
    api = SourceApiRegistered(entry_code=CODE, provider=factories.credit_code(),
                              registered_at=WHEN)
    await catalog.source_api_registered(session, event_of(api), RecordingOutbox())
    [written] = session.written()
    assert (written["data_since"], written["last_loaded_at"]) == (WHEN, None)  # no load


async def test_only_accesses_that_used_the_data_count_as_uses() -> None:
    session, consumer, provider = RecordingSession(), factories.credit_code(), \
        factories.credit_code()

    def usage(kind: AccessKind, accesses: int, denied: str | None = None,
              entry_code: str = CODE) -> UsageCount:
        return UsageCount(consumer=consumer, provider=provider, entry_code=entry_code,
                          kind=kind, purpose=None, denied=denied, accesses=accesses,
                          records=accesses)

    sealed = AuditSealed(first_position=1, last_position=9, head_hash="0" * 64, usage=[
        usage(AccessKind.query, 5), usage(AccessKind.download, 2),
        usage(AccessKind.query, 7, denied="no_grant"), usage(AccessKind.ingest, 4),
        usage(AccessKind.open_data, 1, entry_code="202001/000002")], sealed_at=WHEN)
    await catalog.audit_sealed(session, event_of(sealed), RecordingOutbox())
    # Departments' uses only: anyone may download open data, as often as they like.
    assert [(w["entry_code"], w["uses"]) for w in session.written()] == [(CODE, 7)]
    assert all("uses = (entry_activity.uses + excluded.uses)" in sql for sql in session.sql())
