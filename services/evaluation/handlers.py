"""What the evaluation does with events: its facts, kept from the events of identity,
catalog, sharing and exchange.

Snapshot events (entries, requests, objections) apply only when newer than what is stored,
so a late event never rolls a fact back; one-off events (stale flags, duplicate flags, usage
lines, cross-checks) are keyed by the event or what it reports, so a repeated one adds
nothing; loads keep only their earliest
and latest times, which no repetition or order changes. Times are the business times
the events carry, never the time the event happened to arrive: a replay gives the same facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.evaluation.models import (
    CatalogEntry,
    CatalogTrigger,
    CrossCheckFact,
    DatabaseFact,
    Department,
    DuplicateClearance,
    DuplicateFlag,
    EntrySupply,
    NodeProfile,
    ObjectionFact,
    ProjectFact,
    RequestFact,
    StaleFlag,
    SystemClient,
    UsageFact,
)
from shared.contracts import (
    ClientCreated,
    ClientRevoked,
    DepartmentRegistered,
    DepartmentUpdated,
    NodeInitialized,
)
from shared.contracts.catalog import (
    DatabaseRegistryChanged,
    DuplicateCollectionCleared,
    DuplicateCollectionFlagged,
    EntryEvent,
    EntryPublished,
    EntryStatus,
    EntryUpdated,
    EntryWithdrawn,
    ProjectCatalogChanged,
    TriggerRecorded,
    TriggerResolved,
)
from shared.contracts.exchange import (
    AuditSealed,
    CrossCheckCompleted,
    EntryStale,
    ObjectionEvent,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionVerifying,
    RecordsLoaded,
    SourceApiRegistered,
)
from shared.contracts.sharing import REQUEST_EVENTS, RequestEvent, RequestStatus
from shared.handlers import Event, Handlers
from shared.outbox import Outbox
from shared.workdays import china_date

handlers = Handlers()


async def _upsert(session: AsyncSession, model: type[Any], values: dict[str, Any],
                  newer: ColumnElement[bool] | None = None,
                  keep: tuple[str, ...] = ()) -> None:
    """Insert `values`, or overwrite the stored row (all but `keep`) when `newer` holds."""
    statement = insert(model).values(**values)
    keys = [column.name for column in model.__table__.primary_key]
    update = {name: value for name, value in values.items() if name not in keep}
    await session.execute(statement.on_conflict_do_update(
        index_elements=keys, set_=update, where=newer))


@handlers.on(NodeInitialized)
async def node_initialized(session: AsyncSession, event: Event[NodeInitialized],
                           outbox: Outbox) -> None:
    node = event.payload
    await _upsert(session, NodeProfile, {"node_id": node.node_id, "name": node.name,
                                         "tier": node.tier, "region_code": node.region_code})


@handlers.on(DepartmentRegistered, DepartmentUpdated)
async def department_changed(
    session: AsyncSession, event: Event[DepartmentRegistered | DepartmentUpdated],
    outbox: Outbox,
) -> None:
    """A department is evaluated from its earliest registration on, whichever event of it
    arrives first."""
    department = event.payload
    values = {"credit_code": department.credit_code, "name": department.name,
              "tier": department.tier, "region_code": department.region_code}
    statement = insert(Department).values(**values, registered_at=event.time)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[Department.credit_code],
        set_={**values, "registered_at": func.least(Department.registered_at,
                                                    statement.excluded.registered_at)}))


@handlers.on(ClientCreated)
async def client_created(session: AsyncSession, event: Event[ClientCreated],
                         outbox: Outbox) -> None:
    client = event.payload
    await _upsert(session, SystemClient, {"client_id": client.client_id, "name": client.name,
                                          "department": client.department, "revoked": False},
                  keep=("revoked",))


@handlers.on(ClientRevoked)
async def client_revoked(session: AsyncSession, event: Event[ClientRevoked],
                         outbox: Outbox) -> None:
    client = event.payload
    await _upsert(session, SystemClient, {"client_id": client.client_id, "name": "",
                                          "department": client.department, "revoked": True},
                  keep=("name",))


@handlers.on(EntryPublished, EntryUpdated, EntryWithdrawn)
async def entry_changed(session: AsyncSession, event: Event[EntryEvent], outbox: Outbox) -> None:
    entry = event.payload.entry
    withdrawn = entry.status == EntryStatus.withdrawn
    await _upsert(session, CatalogEntry, {
        "code": entry.code, "provider": entry.provider, "name": entry.name,
        "update_cycle": entry.update_cycle, "status": entry.status, "version": entry.version,
        "published_at": entry.published_at,
        "withdrawn_at": event.time if withdrawn else None,
        "share_type": entry.share.type, "share_channel": entry.share.channel,
        "share_methods": [str(method) for method in entry.share.methods],
    }, newer=CatalogEntry.version < entry.version)


@handlers.on(TriggerRecorded)
async def trigger_recorded(session: AsyncSession, event: Event[TriggerRecorded],
                           outbox: Outbox) -> None:
    trigger = event.payload
    await _upsert(session, CatalogTrigger, {
        "trigger_id": trigger.trigger_id, "department": trigger.department,
        "kind": trigger.kind, "occurred_on": trigger.occurred_on, "due_on": trigger.due_on,
        "resolved_on": None}, keep=("resolved_on",))


@handlers.on(TriggerResolved)
async def trigger_resolved(session: AsyncSession, event: Event[TriggerResolved],
                           outbox: Outbox) -> None:
    """May arrive before the recording (another partition): the row is made either way."""
    trigger = event.payload
    await _upsert(session, CatalogTrigger, {
        "trigger_id": trigger.trigger_id, "department": trigger.department,
        "kind": "unknown", "occurred_on": trigger.due_on, "due_on": trigger.due_on,
        "resolved_on": trigger.resolved_on}, keep=("kind", "occurred_on"))


@handlers.on(*REQUEST_EVENTS)
async def request_changed(session: AsyncSession, event: Event[RequestEvent],
                          outbox: Outbox) -> None:
    request = event.payload.request
    answer = request.answer
    await _upsert(session, RequestFact, {
        "id": request.id, "provider": request.provider, "consumer": request.consumer,
        "entry_code": request.entry_code, "share_type": request.share_type,
        "status": request.status, "version": request.version,
        "submitted_at": request.submitted_at, "due_on": request.due_on,
        "answered_at": answer.answered_at if answer else None,
        "approved": answer.approved if answer else None,
        "reason": answer.reason if answer else None,
        "late": answer.late if answer else None,
        "withdrawn_at": event.time if request.status == RequestStatus.withdrawn else None,
    }, newer=RequestFact.version < request.version)


@handlers.on(EntryStale)
async def entry_stale(session: AsyncSession, event: Event[EntryStale], outbox: Outbox) -> None:
    stale = event.payload
    await session.execute(insert(StaleFlag).values(
        entry_code=stale.entry_code, detected_at=stale.detected_at, provider=stale.provider,
        update_cycle=stale.update_cycle).on_conflict_do_nothing())


@handlers.on(RecordsLoaded)
async def records_loaded(session: AsyncSession, event: Event[RecordsLoaded],
                         outbox: Outbox) -> None:
    """A load that took no record put no data on the platform."""
    loaded = event.payload
    if loaded.accepted:
        await _supplied(session, loaded.entry_code, loaded.provider,
                        first_loaded_at=loaded.loaded_at, last_loaded_at=loaded.loaded_at)


@handlers.on(SourceApiRegistered)
async def source_api_registered(session: AsyncSession, event: Event[SourceApiRegistered],
                                outbox: Outbox) -> None:
    api = event.payload
    await _supplied(session, api.entry_code, api.provider, api_registered_at=api.registered_at)


async def _supplied(session: AsyncSession, entry_code: str, provider: str,
                    **times: datetime) -> None:
    """Merge the times into the entry's supply: first ones keep the earliest, last ones the
    latest (least and greatest pass over the empty ones)."""
    statement = insert(EntrySupply).values(entry_code=entry_code, provider=provider, **times)
    merge = {name: (func.greatest if name.startswith("last_") else func.least)(
        getattr(EntrySupply, name), statement.excluded[name]) for name in times}
    await session.execute(statement.on_conflict_do_update(
        index_elements=[EntrySupply.entry_code], set_=merge))


@handlers.on(CrossCheckCompleted)
async def cross_checked(session: AsyncSession, event: Event[CrossCheckCompleted],
                        outbox: Outbox) -> None:
    check = event.payload
    await session.execute(insert(CrossCheckFact).values(
        check.model_dump(include=set(CrossCheckFact.__table__.columns.keys())),
    ).on_conflict_do_nothing())


@handlers.on(ObjectionRaised, ObjectionVerifying, ObjectionResolved)
async def objection_changed(session: AsyncSession, event: Event[ObjectionEvent],
                            outbox: Outbox) -> None:
    objection = event.payload.objection
    await _upsert(session, ObjectionFact, {
        "id": objection.id, "provider": objection.provider, "consumer": objection.consumer,
        "entry_code": objection.entry_code, "status": objection.status,
        "version": objection.version, "raised_at": objection.raised_at,
        "resolved_at": objection.resolved_at,
    }, newer=ObjectionFact.version < objection.version)


@handlers.on(DuplicateCollectionFlagged)
async def duplicate_flagged(session: AsyncSession, event: Event[DuplicateCollectionFlagged],
                            outbox: Outbox) -> None:
    flag = event.payload
    await session.execute(insert(DuplicateFlag).values(
        event_id=event.id, provider=flag.provider, entry_code=flag.entry_code,
        item_code=flag.item_code, responsible_department=flag.responsible_department,
        identifies_subject=flag.identifies_subject, flagged_at=event.time,
    ).on_conflict_do_nothing())


@handlers.on(DuplicateCollectionCleared)
async def duplicate_cleared(session: AsyncSession, event: Event[DuplicateCollectionCleared],
                            outbox: Outbox) -> None:
    """Kept beside the flags, not applied to them: it ends those raised before it, in
    whatever order the two arrive."""
    cleared = event.payload
    await session.execute(insert(DuplicateClearance).values(
        event_id=event.id, provider=cleared.provider, entry_code=cleared.entry_code,
        item_code=cleared.item_code, responsible_department=cleared.responsible_department,
        reason=cleared.reason, cleared_at=event.time,
    ).on_conflict_do_nothing())


@handlers.on(ProjectCatalogChanged)
async def project_changed(session: AsyncSession, event: Event[ProjectCatalogChanged],
                          outbox: Outbox) -> None:
    """Filing and acceptance may arrive in either order: each keeps its earliest time, and
    the entries attached at acceptance are never taken back."""
    project = event.payload
    accepted = project.status == "accepted"
    statement = insert(ProjectFact).values(
        project_id=project.project_id, department=project.department, name=project.name,
        planned_resources=project.planned_resources,
        accepted_codes=project.accepted_codes if accepted else None,
        filed_at=event.time, accepted_at=event.time if accepted else None)
    kept = statement.excluded
    await session.execute(statement.on_conflict_do_update(
        index_elements=[ProjectFact.project_id], set_={
            "filed_at": func.least(ProjectFact.filed_at, kept.filed_at),
            "accepted_at": func.least(ProjectFact.accepted_at, kept.accepted_at),
            "accepted_codes": func.coalesce(ProjectFact.accepted_codes, kept.accepted_codes)}))


@handlers.on(DatabaseRegistryChanged)
async def database_changed(session: AsyncSession, event: Event[DatabaseRegistryChanged],
                           outbox: Outbox) -> None:
    """The latest change decides which entries the database backs; a deregistration stays
    (a late update does not bring the database back)."""
    database = event.payload
    gone = database.status == "deregistered"
    statement = insert(DatabaseFact).values(
        database_id=database.database_id, department=database.department, name=database.name,
        resource_codes=database.resource_codes, changed_at=event.time,
        registered_at=event.time, deregistered_at=event.time if gone else None)
    kept = statement.excluded
    later = kept.changed_at > DatabaseFact.changed_at
    await session.execute(statement.on_conflict_do_update(
        index_elements=[DatabaseFact.database_id], set_={
            "resource_codes": case((later, kept.resource_codes),
                                   else_=DatabaseFact.resource_codes),
            "changed_at": func.greatest(DatabaseFact.changed_at, kept.changed_at),
            "registered_at": func.least(DatabaseFact.registered_at, kept.registered_at),
            "deregistered_at": func.least(DatabaseFact.deregistered_at,
                                          kept.deregistered_at)}))


@handlers.on(AuditSealed)
async def audit_sealed(session: AsyncSession, event: Event[AuditSealed], outbox: Outbox) -> None:
    sealed = event.payload
    rows = [{"event_id": event.id, "line": line, "consumer": usage.consumer,
             "provider": usage.provider, "entry_code": usage.entry_code, "kind": usage.kind,
             "purpose": usage.purpose, "denied": usage.denied, "actor": usage.actor,
             # Batches sealed before usage carried its day count on the sealing day.
             "day": usage.day or china_date(sealed.sealed_at),
             "accesses": usage.accesses, "records": usage.records}
            for line, usage in enumerate(sealed.usage)]
    if rows:
        await session.execute(insert(UsageFact).values(rows).on_conflict_do_nothing())
