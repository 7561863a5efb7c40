"""The evaluation's handlers of what it must see beyond entries and requests, run against
fakes: loads and source APIs (E1), cross-checks (E7), projects' resource catalogs and the
database registry (C8), each kept with the business time its event carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.evaluation import handlers as evaluation
from shared.contracts.catalog import (
    DatabaseRegistryChanged,
    EntryPublished,
    EntrySnapshot,
    ProjectCatalogChanged,
)
from shared.contracts.exchange import CrossCheckCompleted, RecordsLoaded, SourceApiRegistered
from shared.handlers import event_of
from tests import factories
from tests.unit.fakes import RecordingOutbox, RecordingSession

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
