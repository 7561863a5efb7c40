"""C8 endpoints: the database registry and projects' resource catalogs (department editors)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy import select

from services.catalog import registry
from services.catalog.deps import OutboxDep, SessionDep
from services.catalog.exceptions import NotTheProvidersEditor
from services.catalog.models import InformationProject, RegisteredDatabase
from services.catalog.router import editor_department
from services.catalog.schemas import (
    DatabasePublic,
    DatabaseRegister,
    DatabaseUpdate,
    Deregistration,
    ProjectAcceptance,
    ProjectFile,
    ProjectPublic,
)
from shared.auth import CurrentPrincipal
from shared.pagination import Page, PageDep, fetch_page
from shared.tokens import TokenClaims

router = APIRouter()


def _own(principal: TokenClaims, department: str) -> None:
    if editor_department(principal) != department:
        raise NotTheProvidersEditor("Only the department's own catalog editors change this.")


@router.post("/databases", response_model=DatabasePublic, status_code=status.HTTP_201_CREATED,
             tags=["database registry"], summary="Register a database behind resources (C8)")
async def register_database(body: DatabaseRegister, principal: CurrentPrincipal,
                            session: SessionDep, outbox: OutboxDep) -> RegisteredDatabase:
    return await registry.register_database(session, outbox,
                                            department=editor_department(principal),
                                            **body.model_dump())


@router.put("/databases/{database_id}", response_model=DatabasePublic,
            tags=["database registry"], summary="Update a registered database")
async def update_database(database_id: uuid.UUID, body: DatabaseUpdate,
                          principal: CurrentPrincipal, session: SessionDep,
                          outbox: OutboxDep) -> RegisteredDatabase:
    database = await registry.get_record(session, RegisteredDatabase, database_id)
    _own(principal, database.department)
    return await registry.update_database(session, outbox, database, **body.model_dump())


@router.post("/databases/{database_id}/deregister", response_model=DatabasePublic,
             tags=["database registry"], summary="Deregister a database")
async def deregister_database(database_id: uuid.UUID, body: Deregistration,
                              principal: CurrentPrincipal, session: SessionDep,
                              outbox: OutboxDep) -> RegisteredDatabase:
    database = await registry.get_record(session, RegisteredDatabase, database_id)
    _own(principal, database.department)
    return await registry.deregister_database(session, outbox, database, reason=body.reason)


@router.get("/databases", response_model=Page[DatabasePublic], tags=["database registry"],
            summary="The database registry")
async def list_databases(principal: CurrentPrincipal, session: SessionDep, page: PageDep,
                         department: str | None = None) -> dict[str, object]:
    query = select(RegisteredDatabase).order_by(RegisteredDatabase.registered_at,
                                                RegisteredDatabase.id)
    if department:
        query = query.where(RegisteredDatabase.department == department)
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)


@router.get("/databases/{database_id}", response_model=DatabasePublic,
            tags=["database registry"], summary="One registered database")
async def get_database(database_id: uuid.UUID, principal: CurrentPrincipal,
                       session: SessionDep) -> RegisteredDatabase:
    return await registry.get_record(session, RegisteredDatabase, database_id, lock=False)


@router.post("/projects", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED,
             tags=["project catalogs"],
             summary="File a project's resource catalog before approval (51 §21)")
async def file_project(body: ProjectFile, principal: CurrentPrincipal, session: SessionDep,
                       outbox: OutboxDep) -> InformationProject:
    return await registry.file_project(session, outbox, department=editor_department(principal),
                                       **body.model_dump())


@router.post("/projects/{project_id}/acceptance", response_model=ProjectPublic,
             tags=["project catalogs"],
             summary="Attach the project's published entries at acceptance (51 §21)")
async def accept_project(project_id: uuid.UUID, body: ProjectAcceptance,
                         principal: CurrentPrincipal, session: SessionDep,
                         outbox: OutboxDep) -> InformationProject:
    project = await registry.get_record(session, InformationProject, project_id)
    _own(principal, project.department)
    return await registry.accept_project(session, outbox, project, entry_codes=body.entry_codes)


@router.get("/projects", response_model=Page[ProjectPublic], tags=["project catalogs"],
            summary="Information projects and their resource catalogs")
async def list_projects(principal: CurrentPrincipal, session: SessionDep, page: PageDep,
                        department: str | None = None) -> dict[str, object]:
    query = select(InformationProject).order_by(InformationProject.filed_at,
                                                InformationProject.id)
    if department:
        query = query.where(InformationProject.department == department)
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)


@router.get("/projects/{project_id}", response_model=ProjectPublic, tags=["project catalogs"],
            summary="One information project and its resource catalog")
async def get_project(project_id: uuid.UUID, principal: CurrentPrincipal,
                      session: SessionDep) -> InformationProject:
    return await registry.get_record(session, InformationProject, project_id, lock=False)
