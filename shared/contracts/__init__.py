"""Contracts every service speaks: enums, HTTP schemas that cross a service boundary, and
event payloads, one module per domain. Identity names are re-exported here."""

from shared.contracts.identity import (
    ClientCreated,
    ClientRevoked,
    DepartmentRegistered,
    DepartmentUpdated,
    LinkedNode,
    LoginRequest,
    NodeInitialized,
    NodeLinked,
    NodeRelation,
    Role,
    Tier,
    TokenResponse,
    UserAdded,
    UserUpdated,
    Zone,
    zone_of,
)

__all__ = [
    "ClientCreated",
    "ClientRevoked",
    "DepartmentRegistered",
    "DepartmentUpdated",
    "LinkedNode",
    "LoginRequest",
    "NodeInitialized",
    "NodeLinked",
    "NodeRelation",
    "Role",
    "Tier",
    "TokenResponse",
    "UserAdded",
    "UserUpdated",
    "Zone",
    "zone_of",
]
