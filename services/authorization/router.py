"""Identity REST API: the node, departments and clients (node admins only); staff users are
`staff_router`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from services.authorization import client_secrets, directory
from services.authorization.deps import OutboxDep, SessionDep, SettingsDep
from services.authorization.models import Client, Node
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
)
from services.authorization.security_log import (
    ActorDep,
    SecurityEventKind,
    SessionsDep,
    refusals_recorded,
)
from services.authorization.security_schemas import ClientNetworks, ClientSecretRotation
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
async def create_client(body: ClientCreate, session: SessionDep, outbox: OutboxDep,
                        actor: ActorDep, sessions: SessionsDep,
                        settings: SettingsDep) -> dict[str, object]:
    async with refusals_recorded(sessions, actor, SecurityEventKind.client_created):
        client, secret = await directory.create_client(
            session, outbox, body, actor=actor,
            secret_valid_days=settings.client_secret_valid_days)
    return _with_secret(client, secret)


@router.post("/clients/{client_id}/rotate-secret", response_model=ClientWithSecret,
             tags=["clients"], summary="Issue the client a new secret; the old one stops at "
             "once or after the overlap asked for")
async def rotate_client_secret(client_id: str, body: ClientSecretRotation, session: SessionDep,
                               actor: ActorDep, sessions: SessionsDep,
                               settings: SettingsDep) -> dict[str, object]:
    async with refusals_recorded(sessions, actor, SecurityEventKind.client_secret_rotated,
                                 client_id):
        client = await directory.get_client(session, client_id)
        secret = client_secrets.rotate(
            session, actor, client,
            valid_days=body.secret_valid_days or settings.client_secret_valid_days,
            old_secret_valid_seconds=body.old_secret_valid_seconds)
    return _with_secret(client, secret)


@router.put("/clients/{client_id}/allowed-networks", response_model=ClientPublic,
            tags=["clients"], summary="The networks the client may get tokens from")
async def restrict_client(client_id: str, body: ClientNetworks, session: SessionDep,
                          actor: ActorDep, sessions: SessionsDep) -> object:
    async with refusals_recorded(sessions, actor, SecurityEventKind.client_networks_changed,
                                 client_id):
        client = await directory.get_client(session, client_id)
        client_secrets.restrict(session, actor, client, body.allowed_networks)
    return client


def _with_secret(client: Client, secret: str) -> dict[str, object]:
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
                        outbox: OutboxDep, actor: ActorDep) -> object:
    return await directory.revoke_client(session, outbox, client_id, body.reason, actor=actor)
