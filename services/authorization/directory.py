"""Who is who (A7): departments, their systems' clients and staff users.

Every change writes its event into the outbox in the same transaction; a change of a client
or a user also its record in the security trail, naming who made it. Who may change a user
or give a role is `duties`' rule.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import client_secrets, credentials, duties
from services.authorization.exceptions import (
    ClientNotFound,
    DepartmentExists,
    DepartmentNotFound,
    UserExists,
    UserNotFound,
)
from services.authorization.models import Client, Department, User
from services.authorization.schemas import (
    ClientCreate,
    DepartmentCreate,
    DepartmentUpdate,
    UserCreate,
    UserUpdate,
)
from services.authorization.security_log import (
    AT_THE_MACHINE,
    Actor,
    SecurityEventKind,
    record,
)
from services.authorization.settings import CLIENT_SECRET_VALID_DAYS
from shared import clock
from shared.contracts import (
    ClientCreated,
    ClientRevoked,
    DepartmentRegistered,
    DepartmentUpdated,
    UserAdded,
    UserUpdated,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page


async def register_department(
    session: AsyncSession, outbox: Outbox, spec: DepartmentCreate
) -> Department:
    """Register a department; its credit code and name must both be new."""
    clash = await session.scalar(select(Department).where(
        (Department.credit_code == spec.credit_code) | (Department.name == spec.name)
    ))
    if clash is not None:
        field = "credit_code" if clash.credit_code == spec.credit_code else "name"
        raise DepartmentExists(
            f"A department with this {field} is already registered: {clash.name} "
            f"({clash.credit_code}).", field=field,
        )
    department = Department(**spec.model_dump())
    session.add(department)
    await session.flush()
    await outbox.add(session, department.credit_code, DepartmentRegistered(**spec.model_dump()))
    return department


async def get_department(session: AsyncSession, credit_code: str) -> Department:
    department = await session.get(Department, credit_code.upper())
    if department is None:
        raise DepartmentNotFound(f"No department has credit code {credit_code}.")
    return department


async def update_department(
    session: AsyncSession, outbox: Outbox, credit_code: str, change: DepartmentUpdate
) -> Department:
    """Change a department's name, tier or region."""
    department = await get_department(session, credit_code)
    for field, value in change.model_dump(exclude_none=True).items():
        setattr(department, field, value)
    await session.flush()
    await outbox.add(session, department.credit_code, DepartmentUpdated(
        credit_code=department.credit_code, name=department.name,
        tier=department.tier, region_code=department.region_code,
    ))
    return department


async def list_departments(
    session: AsyncSession, page: PageParams, *, tier: str | None = None,
    region_code: str | None = None, name_contains: str | None = None,
) -> tuple[list[Department], int]:
    query = select(Department)
    if tier:
        query = query.where(Department.tier == tier)
    if region_code:
        query = query.where(Department.region_code == region_code)
    if name_contains:
        query = query.where(Department.name.contains(name_contains))
    return await fetch_page(session, query.order_by(Department.credit_code), page)


async def create_client(
    session: AsyncSession, outbox: Outbox, spec: ClientCreate, *, actor: Actor = AT_THE_MACHINE,
    secret_valid_days: int = CLIENT_SECRET_VALID_DAYS,
) -> tuple[Client, str]:
    """Issue client credentials for a department's system; the secret is returned once."""
    duties.check_client_roles(spec.roles)
    await get_department(session, spec.department)
    client = Client(
        client_id=credentials.new_client_id(), name=spec.name, department=spec.department,
        roles=[str(role) for role in spec.roles],
        allowed_networks=[str(network) for network in spec.allowed_networks],
    )
    secret = client_secrets.issue(client, valid_days=spec.secret_valid_days or secret_valid_days,
                                  now=clock.now())
    session.add(client)
    await session.flush()
    record(session, actor, SecurityEventKind.client_created, target=client.client_id,
           department=client.department, roles=client.roles,
           allowed_networks=client.allowed_networks,
           secret_expires_at=client.secret_expires_at.isoformat())
    await outbox.add(session, client.client_id, ClientCreated(
        client_id=client.client_id, name=client.name, department=client.department,
        roles=spec.roles,
    ))
    return client, secret


async def get_client(session: AsyncSession, client_id: str) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise ClientNotFound(f"No client has id {client_id}.")
    return client


async def revoke_client(
    session: AsyncSession, outbox: Outbox, client_id: str, reason: str, *,
    actor: Actor = AT_THE_MACHINE,
) -> Client:
    """Revoke credentials: from this commit on, they get no new token."""
    client = await get_client(session, client_id)
    if client.revoked_at is None:
        client.revoked_at, client.revoked_reason = datetime.now(UTC), reason
        await session.flush()
        record(session, actor, SecurityEventKind.client_revoked, target=client.client_id,
               why=reason)
        await outbox.add(session, client.client_id, ClientRevoked(
            client_id=client.client_id, department=client.department, reason=reason,
        ))
    return client


async def list_clients(
    session: AsyncSession, page: PageParams, *, department: str | None = None
) -> tuple[list[Client], int]:
    query = select(Client)
    if department:
        query = query.where(Client.department == department.upper())
    return await fetch_page(session, query.order_by(Client.created_at), page)


async def add_user(session: AsyncSession, outbox: Outbox, spec: UserCreate, *,
                   actor: Actor = AT_THE_MACHINE) -> User:
    """Add a staff user with roles; the password is stored as a scrypt hash."""
    duties.check_role_change(actor, spec.username, before=[], after=spec.roles)
    if await session.get(User, spec.username) is not None:
        raise UserExists(f"The user name {spec.username} is taken.", field="username")
    if spec.department:
        await get_department(session, spec.department)
    user = User(
        username=spec.username, display_name=spec.display_name, department=spec.department,
        roles=[str(role) for role in spec.roles],
        password_hash=credentials.hash_password(spec.password),
    )
    session.add(user)
    await session.flush()
    record(session, actor, SecurityEventKind.user_created, target=user.username,
           roles=user.roles, department=user.department)
    await outbox.add(session, user.username, UserAdded(
        username=user.username, display_name=user.display_name,
        department=user.department, roles=spec.roles,
    ))
    return user


async def get_user(session: AsyncSession, username: str) -> User:
    user = await session.get(User, username)
    if user is None:
        raise UserNotFound(f"No user is called {username}.")
    return user


async def update_user(
    session: AsyncSession, outbox: Outbox, username: str, change: UserUpdate, *,
    actor: Actor = AT_THE_MACHINE,
) -> User:
    """Change a user's roles or disable/enable them; effective for the next login."""
    user = await get_user(session, username)
    duties.check_may_administer(actor, user.username, user.roles)
    if change.roles is not None:
        roles = [str(role) for role in change.roles]
        duties.check_role_change(actor, user.username, before=user.roles, after=roles)
        if set(roles) != set(user.roles):
            record(session, actor, SecurityEventKind.user_roles_changed, target=user.username,
                   before=user.roles, after=roles)
        user.roles = roles
    if change.disabled is not None and change.disabled != (user.disabled_at is not None):
        user.disabled_at = datetime.now(UTC) if change.disabled else None
        record(session, actor, SecurityEventKind.user_disabled if change.disabled
               else SecurityEventKind.user_enabled, target=user.username)
    await session.flush()
    await outbox.add(session, user.username, UserUpdated(
        username=user.username, roles=user.roles, disabled=user.disabled_at is not None,
    ))
    return user


async def list_users(
    session: AsyncSession, page: PageParams, *, department: str | None = None,
    role: str | None = None,
) -> tuple[list[User], int]:
    query = select(User)
    if department:
        query = query.where(User.department == department.upper())
    if role:
        query = query.where(User.roles.any(role))
    return await fetch_page(session, query.order_by(User.username), page)

