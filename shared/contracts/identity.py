"""Names every service speaks: tiers, zones, roles, the token exchange, identity events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EventData


class Tier(StrEnum):
    national = "national"
    provincial = "provincial"
    municipal = "municipal"
    county = "county"


class Zone(StrEnum):
    """Network zone [51 §11]: internal (政务内网, classified allowed) or external (政务外网)."""

    internal = "internal"
    external = "external"


def zone_of(node_id: str) -> Zone:
    """A node's zone, as its id names it (`<region>-<zone>`, checked when nodes link);
    ValueError for an id that names none."""
    return Zone(node_id.rpartition("-")[2])


class Role(StrEnum):
    """Staff and system roles (A7: least privilege, each role one kind of work)."""

    catalog_editor = "catalog_editor"
    request_reviewer = "request_reviewer"
    data_operator = "data_operator"
    auditor = "auditor"  # reads the audit trails (审计管理员 for staff; A7)
    node_admin = "node_admin"  # system administrator (系统管理员): node, departments, accounts
    security_admin = "security_admin"  # security administrator (安全管理员): the oversight roles
    arbiter = "arbiter"  # staff of the competent authority / coordinating body (A3)


class LoginRequest(BaseModel):
    """Staff login at the gateway, answered by the identity service."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access token response, from the identity service via the gateway."""

    access_token: str = Field(description="A JWT (ES256) to send as `Authorization: Bearer`; "
                                          "one bound to a key (DPoP) goes in ingest "
                                          "envelopes instead.")
    token_type: str = Field("Bearer", description="Bearer, or DPoP for a token bound to the "
                                                  "key the request's `DPoP` header proved.")
    expires_in: int = Field(description="Seconds until the token expires.")


class NodeInitialized(EventData):
    event_type = "identity.node.initialized.v1"
    node_id: str
    name: str
    tier: Tier
    region_code: str
    zone: Zone
    key_id: str = Field(description="Id of the node's active signing key.")


class NodeRelation(StrEnum):
    parent = "parent"  # the tier above, which aggregates this node's catalog (F1)
    child = "child"  # a tier below, whose catalog this node aggregates


class LinkedNode(BaseModel):
    """Another node this one is linked with, as its services need it (G2)."""

    node_id: str
    name: str
    tier: Tier
    region_code: str
    zone: Zone
    relation: NodeRelation
    gateway_url: str = Field(description="Where its gateway answers federated calls.")
    jwks_url: str = Field(description="Where it publishes the keys its node tokens use.")


class NodeLinked(EventData):
    event_type = "identity.node.linked.v1"
    node: LinkedNode


class DepartmentRegistered(EventData):
    event_type = "identity.department.registered.v1"
    credit_code: str
    name: str
    tier: Tier
    region_code: str


class DepartmentUpdated(EventData):
    event_type = "identity.department.updated.v1"
    credit_code: str
    name: str
    tier: Tier
    region_code: str


class ClientCreated(EventData):
    event_type = "identity.client.created.v1"
    client_id: str
    name: str
    department: str
    roles: list[Role]


class ClientRevoked(EventData):
    event_type = "identity.client.revoked.v1"
    client_id: str
    department: str
    reason: str


class UserAdded(EventData):
    event_type = "identity.user.added.v1"
    username: str
    display_name: str
    department: str | None
    roles: list[Role]


class UserUpdated(EventData):
    event_type = "identity.user.updated.v1"
    username: str
    roles: list[Role]
    disabled: bool
