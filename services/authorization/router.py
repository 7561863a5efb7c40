"""Identity REST API: nodes, departments, clients and users (node admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from services.authorization import directory
from services.authorization.deps import OutboxDep, SessionDep
from services.authorization.models import Node
from services.authorization.node_keys import require_local_node
from services.authorization.schemas import (
    ClientCreate,
    ClientPublic,
    ClientRevoke,
    ClientWithSecret,
    DepartmentCreate,
    DepartmentPublic,
    DepartmentUpdate,
    NodePublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from shared.auth import require_role
from shared.contracts import Role, Tier
from shared.pagination import Page, PageDep

router = APIRouter(dependencies=[Depends(require_role(Role.node_admin))])


@router.get("/node", response_model=NodePublic, tags=["nodes"], summary="The local node")
async def get_local_node(session: SessionDep) -> Node:
    return await require_local_node(session)


@router.post("/departments", response_model=DepartmentPublic,
             status_code=status.HTTP_201_CREATED, tags=["departments"],
             summary="Register a department")
async def register_department(body: DepartmentCreate, session: SessionDep,
                              outbox: OutboxDep) -> object:
    return await directory.register_department(session, outbox, body)


@router.get("/departments", response_model=Page[DepartmentPublic], tags=["departments"],
            summary="List departments")
async def list_departments(
    session: SessionDep, page: PageDep, tier: Tier | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    name_contains: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, object]:
    items, total = await directory.list_departments(
        session, page, tier=tier, region_code=region_code, name_contains=name_contains)
    return page.wrap(items, total)


@router.get("/departments/{credit_code}", response_model=DepartmentPublic,
            tags=["departments"], summary="One department")
async def get_department(credit_code: str, session: SessionDep) -> object:
    return await directory.get_department(session, credit_code)


@router.patch("/departments/{credit_code}", response_model=DepartmentPublic,
              tags=["departments"], summary="Change a department's name, tier or region")
async def update_department(credit_code: str, body: DepartmentUpdate, session: SessionDep,
                            outbox: OutboxDep) -> object:
    return await directory.update_department(session, outbox, credit_code, body)


@router.post("/clients", response_model=ClientWithSecret, status_code=status.HTTP_201_CREATED,
             tags=["clients"], summary="Create client credentials for a department system")
async def create_client(body: ClientCreate, session: SessionDep,
                        outbox: OutboxDep) -> dict[str, object]:
    client, secret = await directory.create_client(session, outbox, body)
    return {**ClientPublic.model_validate(client).model_dump(), "client_secret": secret}


@router.get("/clients", response_model=Page[ClientPublic], tags=["clients"],
            summary="List client credentials")
async def list_clients(session: SessionDep, page: PageDep,
                       department: str | None = None) -> dict[str, object]:
    items, total = await directory.list_clients(session, page, department=department)
    return page.wrap(items, total)


@router.post("/clients/{client_id}/revoke", response_model=ClientPublic, tags=["clients"],
             summary="Revoke client credentials (no new tokens from now on)")
async def revoke_client(client_id: str, body: ClientRevoke, session: SessionDep,
                        outbox: OutboxDep) -> object:
    return await directory.revoke_client(session, outbox, client_id, body.reason)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             tags=["users"], summary="Add a staff user")
async def add_user(body: UserCreate, session: SessionDep, outbox: OutboxDep) -> object:
    return await directory.add_user(session, outbox, body)


@router.get("/users", response_model=Page[UserPublic], tags=["users"], summary="List users")
async def list_users(session: SessionDep, page: PageDep, department: str | None = None,
                     role: Role | None = None) -> dict[str, object]:
    items, total = await directory.list_users(session, page, department=department, role=role)
    return page.wrap(items, total)


@router.patch("/users/{username}", response_model=UserPublic, tags=["users"],
              summary="Change a user's roles, or disable or enable the user")
async def update_user(username: str, body: UserUpdate, session: SessionDep,
                      outbox: OutboxDep) -> object:
    return await directory.update_user(session, outbox, username, body)
