"""Staff users API (A7): the system administrator (node_admin) and the security administrator
(security_admin) each administer the users and roles that are their duty (`duties`);
refused attempts are recorded in the security trail like the acts themselves."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from services.authorization import directory, lockout
from services.authorization.deps import OutboxDep, SessionDep, SettingsDep
from services.authorization.schemas import UserCreate, UserPublic, UserUpdate
from services.authorization.security_log import (
    ActorDep,
    SecurityEventKind,
    SessionsDep,
    refusals_recorded,
)
from services.authorization.security_schemas import LockStatePublic
from shared.auth import require_role
from shared.contracts import Role
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/users", tags=["users"], dependencies=[
    Depends(require_role(Role.node_admin, Role.security_admin))])


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             summary="Add a staff user (with roles that are the caller's duty to give)")
async def add_user(body: UserCreate, session: SessionDep, outbox: OutboxDep, actor: ActorDep,
                   sessions: SessionsDep) -> object:
    async with refusals_recorded(sessions, actor, SecurityEventKind.user_created,
                                 body.username):
        return await directory.add_user(session, outbox, body, actor=actor)


@router.get("", response_model=Page[UserPublic], summary="List users")
async def list_users(session: SessionDep, page: PageDep, department: str | None = None,
                     role: Role | None = None) -> dict[str, object]:
    items, total = await directory.list_users(session, page, department=department, role=role)
    return page.wrap(items, total)


@router.patch("/{username}", response_model=UserPublic,
              summary="Change a user's roles, or disable or enable the user (never one's own)")
async def update_user(username: str, body: UserUpdate, session: SessionDep,
                      outbox: OutboxDep, actor: ActorDep, sessions: SessionsDep) -> object:
    kind = (SecurityEventKind.user_roles_changed if body.roles is not None
            else SecurityEventKind.user_disabled if body.disabled
            else SecurityEventKind.user_enabled)
    async with refusals_recorded(sessions, actor, kind, username):
        return await directory.update_user(session, outbox, username, body, actor=actor)


@router.get("/{username}/lockout", response_model=LockStatePublic,
            summary="The user's failed logins and lock-out")
async def lock_state(username: str, session: SessionDep,
                     settings: SettingsDep) -> lockout.LockState:
    return await lockout.lock_state(session, username, lockout.LoginPolicy.of(settings))


@router.post("/{username}/unlock", response_model=LockStatePublic,
             summary="Lift the user's lock-out after failed logins")
async def unlock(username: str, session: SessionDep, actor: ActorDep, sessions: SessionsDep,
                 settings: SettingsDep) -> lockout.LockState:
    async with refusals_recorded(sessions, actor, SecurityEventKind.unlock, username):
        return await lockout.unlock(session, actor, username, lockout.LoginPolicy.of(settings))
