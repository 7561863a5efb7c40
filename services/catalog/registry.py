"""C8: the database registry [BJ 三(二)] and information projects' resource catalogs
[51 §21]. Both are records the evaluation later reads (V3), so every change is an event."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import IllegalTransition, RecordNotFound, RuleViolation
from services.catalog.models import Entry, InformationProject, RegisteredDatabase
from shared import clock
from shared.contracts.catalog import (
    DatabaseRegistryChanged,
    EntryStatus,
    ProjectCatalogChanged,
)
from shared.outbox import Outbox

Record = TypeVar("Record", RegisteredDatabase, InformationProject)


async def register_database(session: AsyncSession, outbox: Outbox, *, department: str,
                            name: str, dbms: str, description: str,
                            resource_codes: list[str]) -> RegisteredDatabase:
    await _require_own_entries(session, department, resource_codes, field="resource_codes")
    database = RegisteredDatabase(department=department, name=name, dbms=dbms,
                                  description=description, resource_codes=resource_codes,
                                  status="registered")
    session.add(database)
    await _announce_database(session, outbox, database)
    return database


async def update_database(session: AsyncSession, outbox: Outbox, database: RegisteredDatabase,
                          *, description: str, resource_codes: list[str]) -> RegisteredDatabase:
    if database.status == "deregistered":
        raise IllegalTransition("A deregistered database cannot be updated.",
                                current_state=database.status)
    await _require_own_entries(session, database.department, resource_codes,
                               field="resource_codes")
    database.description, database.resource_codes = description, resource_codes
    database.status = "updated"
    await _announce_database(session, outbox, database)
    return database


async def deregister_database(session: AsyncSession, outbox: Outbox,
                              database: RegisteredDatabase, *, reason: str) -> RegisteredDatabase:
    if database.status == "deregistered":
        raise IllegalTransition("The database is already deregistered.",
                                current_state=database.status)
    database.status, database.reason = "deregistered", reason
    await _announce_database(session, outbox, database)
    return database


async def file_project(session: AsyncSession, outbox: Outbox, *, department: str, name: str,
                       planned_resources: list[str]) -> InformationProject:
    """Before approval: the project's planned resource catalog goes on file."""
    project = InformationProject(department=department, name=name,
                                 planned_resources=planned_resources, status="filed")
    session.add(project)
    await _announce_project(session, outbox, project)
    return project


async def accept_project(session: AsyncSession, outbox: Outbox, project: InformationProject,
                         *, entry_codes: list[str]) -> InformationProject:
    """At acceptance: the resources the project built are attached as published entries."""
    if project.status != "filed":
        raise IllegalTransition("Only a filed project can be accepted.",
                                current_state=project.status)
    await _require_own_entries(session, project.department, entry_codes, field="entry_codes",
                               published=True)
    project.status, project.accepted_codes = "accepted", entry_codes
    project.accepted_at = clock.now()
    await _announce_project(session, outbox, project)
    return project


async def get_record(session: AsyncSession, model: type[Record], record_id: object, *,
                     lock: bool = True) -> Record:
    """The record to read, or (locked) to change."""
    record = await session.get(model, record_id, with_for_update=lock)
    if record is None:
        raise RecordNotFound(f"No {model.__tablename__.replace('_', ' ')} has id {record_id}.")
    return record


async def _require_own_entries(session: AsyncSession, department: str, codes: list[str], *,
                               field: str, published: bool = False) -> None:
    rows = await session.execute(select(Entry.code, Entry.provider, Entry.status)
                                 .where(Entry.code.in_(codes)))
    found = {row.code: row for row in rows}
    for code in codes:
        row = found.get(code)
        if row is None or row.provider != department:
            raise RuleViolation(f"{code} is not an entry of this department's catalog.",
                                field=field, rule="C8", article="51 §21, BJ 三(二)")
        if published and row.status != EntryStatus.published:
            raise RuleViolation(f"{code} must be published before the project is accepted.",
                                field=field, rule="C8", article="51 §21")


async def _announce_database(session: AsyncSession, outbox: Outbox,
                             database: RegisteredDatabase) -> None:
    await session.flush()
    await session.refresh(database, ["registered_at", "updated_at"])  # set by the database
    await outbox.add(session, str(database.id), DatabaseRegistryChanged(
        database_id=database.id, department=database.department, name=database.name,
        status=database.status, resource_codes=database.resource_codes))


async def _announce_project(session: AsyncSession, outbox: Outbox,
                            project: InformationProject) -> None:
    await session.flush()
    await outbox.add(session, str(project.id), ProjectCatalogChanged(
        project_id=project.id, department=project.department, name=project.name,
        status=project.status, planned_resources=project.planned_resources,
        accepted_codes=project.accepted_codes))
