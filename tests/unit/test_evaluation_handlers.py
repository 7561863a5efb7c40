"""The evaluation's handlers, run against fakes: the facts it keeps from identity (the node,
departments, systems' clients), the catalog (triggers C6, duplicate collection C7, projects'
resource catalogs and the database registry C8), sharing (requests A2, A4) and the exchange
(loads and source APIs E1, stale entries and cross-checks E7, objections E6), each with the
business time its event carries and never rolled back by a late event."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.evaluation import handlers as evaluation
from services.evaluation.models import ObjectionFact, RequestFact
from shared.contracts import (
    ClientCreated,
    ClientRevoked,
    DepartmentRegistered,
    DepartmentUpdated,
    NodeInitialized,
)
from shared.contracts.catalog import (
    DatabaseRegistryChanged,
    EntryPublished,
    EntrySnapshot,
    ProjectCatalogChanged,
    TriggerRecorded,
    TriggerResolved,
)
from shared.contracts.exchange import (
    CrossCheckCompleted,
    ObjectionEvent,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionVerifying,
    RecordsLoaded,
    SourceApiRegistered,
)
from shared.contracts.sharing import RequestAnswered, RequestSubmitted, RequestWithdrawn
from shared.handlers import event_of
from tests import factories
from tests.unit import events
from tests.unit.fakes import Conflict, RecordingOutbox, RecordingSession, columns

PROVIDER = factories.credit_code()
CODE = "101001/000001"
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_evaluation_applies_loads_source_apis_cross_checks_projects_and_databases(
) -> None:
    assert {RecordsLoaded.event_type, SourceApiRegistered.event_type,
            CrossCheckCompleted.event_type, ProjectCatalogChanged.event_type,
            DatabaseRegistryChanged.event_type} <= evaluation.handlers.event_types


async def test_an_entry_keeps_the_share_attributes_that_say_whether_it_owes_data() -> None:
    session = RecordingSession()
    entry = EntrySnapshot.model_validate({
        **factories.population_entry(), "code": CODE, "provider": PROVIDER,
        "provider_name": "南京市公安局", "status": "published", "version": 2,
        "node": "320100-external"})
    await evaluation.entry_changed(session, event_of(EntryPublished(entry=entry,
                                                                    changed_by="u")),
                                   RecordingOutbox())
    [written] = session.written()
    assert (written["share_type"], written["share_channel"]) == ("unconditional", "platform")
    assert written["share_methods"] == ["online_query", "bulk_download"]


async def test_a_load_keeps_its_earliest_and_latest_time_whatever_the_order() -> None:
    session = RecordingSession()
    loaded = RecordsLoaded(entry_code=CODE, provider=PROVIDER, accepted=3, rejected=1,
                           loaded_at=WHEN)
    await evaluation.records_loaded(session, event_of(loaded), RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert session.tables() == ["entry_supply"]
    assert written["first_loaded_at"] == written["last_loaded_at"] == WHEN
    assert "least(entry_supply.first_loaded_at, excluded.first_loaded_at)" in sql
    assert "greatest(entry_supply.last_loaded_at, excluded.last_loaded_at)" in sql
    assert "api_registered_at" not in sql  # a load leaves the source API's time alone


async def test_a_load_that_took_no_record_puts_no_data_on_the_platform() -> None:
    session = RecordingSession()
    refused = RecordsLoaded(entry_code=CODE, provider=PROVIDER, accepted=0, rejected=5,
                            loaded_at=WHEN)
    await evaluation.records_loaded(session, event_of(refused), RecordingOutbox())
    assert session.statements == []


async def test_a_cross_check_is_kept_once_with_both_providers_and_its_run_time() -> None:
    session, other = RecordingSession(), factories.credit_code()
    check = CrossCheckCompleted(
        check_id=uuid.uuid4(), left_entry=CODE, left_item="XM", left_provider=PROVIDER,
        right_entry="101001/000002", right_item="XM", right_provider=other, compared=50,
        mismatched=2, run_at=WHEN)
    await evaluation.cross_checked(session, event_of(check), RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert session.tables() == ["crosscheck_fact"] and "ON CONFLICT DO NOTHING" in sql
    assert written == check.model_dump()


def project(status: str, accepted_codes: list[str] | None) -> ProjectCatalogChanged:
    return ProjectCatalogChanged(project_id=uuid.uuid4(), department=PROVIDER,
                                 name="智慧民政综合信息平台建设项目", status=status,
                                 planned_resources=["婚姻登记信息"],
                                 accepted_codes=accepted_codes)


async def test_a_filed_project_is_dated_by_its_event_and_has_nothing_attached_yet() -> None:
    session = RecordingSession()
    await evaluation.project_changed(session, event_of(project("filed", None), time=WHEN),
                                     RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert (written["filed_at"], written["accepted_at"], written["accepted_codes"]) == (
        WHEN, None, None)
    # Whichever of filing and acceptance arrives first, each keeps its earliest time.
    assert "least(project_fact.filed_at, excluded.filed_at)" in sql
    assert "least(project_fact.accepted_at, excluded.accepted_at)" in sql
    assert "coalesce(project_fact.accepted_codes, excluded.accepted_codes)" in sql


async def test_an_accepted_project_keeps_the_entries_attached_and_when() -> None:
    session = RecordingSession()
    await evaluation.project_changed(session, event_of(project("accepted", [CODE]), time=WHEN),
                                     RecordingOutbox())
    [written] = session.written()
    assert (written["accepted_codes"], written["accepted_at"]) == ([CODE], WHEN)


async def test_a_deregistered_database_stays_deregistered_and_the_latest_codes_win() -> None:
    session = RecordingSession()
    database = DatabaseRegistryChanged(database_id=uuid.uuid4(), department=PROVIDER,
                                       name="全市人口基础信息库", status="deregistered",
                                       resource_codes=[CODE])
    await evaluation.database_changed(session, event_of(database, time=WHEN),
                                      RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert (written["deregistered_at"], written["changed_at"]) == (WHEN, WHEN)
    assert "CASE WHEN (excluded.changed_at > database_fact.changed_at)" in sql
    assert "least(database_fact.deregistered_at, excluded.deregistered_at)" in sql


async def test_a_registered_source_api_supplies_the_entry_from_its_first_registration() -> None:
    session = RecordingSession()
    api = SourceApiRegistered(entry_code=CODE, provider=PROVIDER, registered_at=WHEN)
    await evaluation.source_api_registered(session, event_of(api), RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert written["api_registered_at"] == WHEN and written["provider"] == PROVIDER
    assert "least(entry_supply.api_registered_at, excluded.api_registered_at)" in sql
    assert "first_loaded_at" not in sql


# --- identity: the node, its departments and their systems' clients -------------------------

async def test_the_node_profile_is_what_identity_last_said_of_the_node() -> None:
    session = RecordingSession()
    node = NodeInitialized(node_id="320100-external", name="南京市政务数据共享平台",
                           tier="municipal", region_code="320100", zone="external",
                           key_id="k1")
    await evaluation.node_initialized(session, event_of(node), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["node_profile"]
    # The tier chooses the default scoring method.
    assert {name: written[name] for name in ("node_id", "name", "tier", "region_code")} == {
        "node_id": "320100-external", "name": "南京市政务数据共享平台", "tier": "municipal",
        "region_code": "320100"}
    assert session.conflicts() == [Conflict(frozenset({"node_id", "name", "tier",
                                                       "region_code"}))]


@pytest.mark.parametrize("announced", [DepartmentRegistered, DepartmentUpdated])
async def test_a_department_is_evaluated_from_its_earliest_announcement(
    announced: type[DepartmentRegistered | DepartmentUpdated]
) -> None:
    session = RecordingSession()
    department = events.department(announced, name="南京市民政局")
    await evaluation.department_changed(session, event_of(department, time=WHEN),
                                        RecordingOutbox())
    [written], [sql] = session.written(), session.sql()
    assert (written["credit_code"], written["name"], written["registered_at"]) == (
        department.credit_code, "南京市民政局", WHEN)
    assert session.conflicts() == [Conflict(frozenset({"credit_code", "name", "tier",
                                                       "region_code", "registered_at"}))]
    # The name follows the latest event, the registration time the earliest.
    assert "registered_at = least(department.registered_at, excluded.registered_at)" in sql


async def test_a_created_client_leaves_a_revocation_that_arrived_first_standing() -> None:
    session = RecordingSession()
    created = ClientCreated(client_id="gsc_people", name="人口库同步程序", department=PROVIDER,
                            roles=["data_operator"])
    await evaluation.client_created(session, event_of(created), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["system_client"]
    assert (written["client_id"], written["name"], written["department"],
            written["revoked"]) == ("gsc_people", "人口库同步程序", PROVIDER, False)
    assert session.conflicts() == [Conflict(frozenset({"client_id", "name", "department"}))]


async def test_a_revoked_client_keeps_its_name_and_is_revoked_even_if_never_seen() -> None:
    session = RecordingSession()
    revoked = ClientRevoked(client_id="gsc_people", department=PROVIDER, reason="系统下线")
    await evaluation.client_revoked(session, event_of(revoked), RecordingOutbox())
    [written] = session.written()
    assert (written["client_id"], written["revoked"], written["name"]) == (
        "gsc_people", True, "")
    assert session.conflicts() == [Conflict(frozenset({"client_id", "department",
                                                       "revoked"}))]


# --- catalog: the triggers of catalog changes (C6) ------------------------------------------

TRIGGER = uuid.uuid4()


async def test_a_recorded_trigger_leaves_a_resolution_that_arrived_first_standing() -> None:
    session = RecordingSession()
    recorded = TriggerRecorded(trigger_id=TRIGGER, department=PROVIDER,
                               kind="function_changed", occurred_on=date(2026, 3, 2),
                               due_on=date(2026, 3, 23))
    await evaluation.trigger_recorded(session, event_of(recorded), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["catalog_trigger"]
    assert (written["kind"], written["occurred_on"], written["due_on"],
            written["resolved_on"]) == ("function_changed", date(2026, 3, 2),
                                        date(2026, 3, 23), None)
    # Recorded again when a loaded schedule moves the due date: that date is overwritten.
    assert session.conflicts() == [Conflict(frozenset({"trigger_id", "department", "kind",
                                                       "occurred_on", "due_on"}))]


async def test_a_resolution_before_its_trigger_makes_the_row_for_the_trigger_to_fill() -> None:
    session = RecordingSession()
    resolved = TriggerResolved(trigger_id=TRIGGER, department=PROVIDER,
                               resolved_on=date(2026, 3, 20), due_on=date(2026, 3, 23))
    await evaluation.trigger_resolved(session, event_of(resolved), RecordingOutbox())
    [written] = session.written()
    assert (written["trigger_id"], written["resolved_on"], written["due_on"]) == (
        TRIGGER, date(2026, 3, 20), date(2026, 3, 23))
    assert (written["kind"], written["occurred_on"]) == ("unknown", date(2026, 3, 23))
    assert session.conflicts() == [Conflict(frozenset({"trigger_id", "department", "due_on",
                                                       "resolved_on"}))]


# --- sharing: requests and how they were answered (A2, A4) ----------------------------------

async def test_an_answered_request_keeps_how_and_when_it_was_answered() -> None:
    session = RecordingSession()
    answered = events.request(status="rejected", version=2,
                              answer=events.answer(False, late=True))
    await evaluation.request_changed(session, event_of(RequestAnswered(request=answered,
                                                                       actor="liuyang")),
                                     RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["request_fact"]
    assert {name: written[name] for name in (
        "id", "provider", "consumer", "status", "submitted_at", "due_on", "answered_at",
        "approved", "reason", "late", "withdrawn_at")} == {
        "id": answered.id, "provider": events.PROVIDER, "consumer": events.CONSUMER,
        "status": "rejected", "submitted_at": events.WHEN, "due_on": date(2026, 10, 26),
        "answered_at": events.WHEN, "approved": False, "reason": "申请用途与职责无关",
        "late": True, "withdrawn_at": None}
    # A late 'submitted' (version 1) does not take the answer back.
    assert session.conflicts() == [Conflict(columns(RequestFact),
                                            where="request_fact.version < 2")]


async def test_a_submitted_request_has_no_answer_yet() -> None:
    session = RecordingSession()
    await evaluation.request_changed(
        session, event_of(RequestSubmitted(request=events.request(), actor="zhangwei")),
        RecordingOutbox())
    [written] = session.written()
    assert (written["answered_at"], written["approved"], written["reason"],
            written["late"]) == (None, None, None, None)


async def test_a_withdrawn_request_is_dated_by_its_event() -> None:
    session = RecordingSession()
    withdrawn = events.request(status="withdrawn", version=3)
    await evaluation.request_changed(
        session, event_of(RequestWithdrawn(request=withdrawn, actor="zhangwei"), time=WHEN),
        RecordingOutbox())
    [written] = session.written()
    assert (written["status"], written["withdrawn_at"]) == ("withdrawn", WHEN)


# --- exchange: stale entries (E7) and objections (E6) ---------------------------------------

async def test_a_stale_entry_is_kept_once_at_the_time_it_was_found() -> None:
    session = RecordingSession()
    stale = events.stale(update_cycle="weekly", detected_at=WHEN)
    await evaluation.entry_stale(session, event_of(stale), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["stale_flag"]
    assert written == {"entry_code": events.CODE, "detected_at": WHEN,
                       "provider": events.PROVIDER, "update_cycle": "weekly"}
    assert session.conflicts() == [Conflict(frozenset())]  # a repeated finding adds nothing


@pytest.mark.parametrize("changed", [ObjectionRaised, ObjectionVerifying, ObjectionResolved])
async def test_an_objection_keeps_its_latest_state_and_when_it_was_settled(
    changed: type[ObjectionEvent]
) -> None:
    session = RecordingSession()
    settled = events.objection(status="corrected", version=3, verifying_at=WHEN,
                               resolved_at=WHEN, resolution="已按户籍登记更正")
    await evaluation.objection_changed(session, event_of(changed(objection=settled,
                                                                 actor="liuyang")),
                                       RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["objection_fact"]
    assert {name: written[name] for name in (
        "id", "provider", "consumer", "status", "version", "raised_at", "resolved_at")} == {
        "id": settled.id, "provider": events.PROVIDER, "consumer": events.CONSUMER,
        "status": "corrected", "version": 3, "raised_at": events.WHEN, "resolved_at": WHEN}
    assert session.conflicts() == [Conflict(columns(ObjectionFact),
                                            where="objection_fact.version < 3")]


# --- catalog: duplicate collection (C7) -----------------------------------------------------

async def test_a_duplicate_flag_is_kept_once_from_its_business_time() -> None:
    session = RecordingSession()
    event = event_of(events.duplicate_flag(), time=WHEN)
    await evaluation.duplicate_flagged(session, event, RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["duplicate_flag"]
    assert written == {"event_id": event.id, "provider": events.PROVIDER,
                       "entry_code": events.CODE, "item_code": "GMSFHM",
                       "responsible_department": events.CONSUMER, "identifies_subject": True,
                       "flagged_at": WHEN}
    assert session.conflicts() == [Conflict(frozenset())]
