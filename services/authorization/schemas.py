"""Request and response bodies of the identity API (one family per entity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts import Role, Tier, Zone
from shared.identifiers import CreditCode, RegionCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_.-]{2,63}$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeInit(Strict):
    name: Name = Field(description="Human name of the node, e.g. 南京市政务数据共享交换平台.")
    tier: Tier
    region_code: RegionCode
    zone: Zone


class NodePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    tier: Tier
    region_code: str
    zone: Zone
    is_local: bool
    created_at: datetime


class DepartmentBase(Strict):
    name: Name = Field(description="Official name, e.g. 南京市公安局.")
    tier: Tier
    region_code: RegionCode


class DepartmentCreate(DepartmentBase):
    credit_code: CreditCode


class DepartmentUpdate(Strict):
    name: Name | None = None
    tier: Tier | None = None
    region_code: RegionCode | None = None


class DepartmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    credit_code: str
    name: str
    tier: Tier
    region_code: str
    created_at: datetime
    updated_at: datetime


class ClientCreate(Strict):
    name: Name = Field(description="The system these credentials are for.")
    department: CreditCode
    roles: list[Role] = Field(default_factory=list, description="Roles the system acts in.")


class ClientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    client_id: str
    name: str
    department: str
    roles: list[Role]
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class ClientWithSecret(ClientPublic):
    client_secret: str = Field(description="Shown once; only its hash is kept.")


class ClientRevoke(Strict):
    reason: Name


class UserCreate(Strict):
    username: Username
    display_name: Name
    department: CreditCode | None = Field(
        None, description="The user's department; none for the competent authority's admins."
    )
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=12, max_length=256)


class UserUpdate(Strict):
    roles: list[Role] | None = Field(None, min_length=1)
    disabled: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str
    department: str | None
    roles: list[Role]
    disabled_at: datetime | None
    created_at: datetime


class Whoami(BaseModel):
    subject: str
    kind: str
    department: str | None
    roles: list[str]
    node: str
    expires_at: int
