"""The security audit trail (A7, 等保 安全审计): every login, lock-out, role change, account
and credential change, and key rotation, with who did it, when, from where, to what, and how
it ended. Only auditors read it; nobody changes it (the database refuses UPDATE, DELETE and
TRUNCATE on the table).

Acts that succeed are recorded in their own transaction, so the record and the change commit
together. A refused or failed act rolls its transaction back, so its record is written in a
transaction of its own (`record_apart`): a refusal is evidence too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.authorization.security_models import SecurityEvent
from shared import clock
from shared.addresses import caller_address
from shared.auth import CurrentPrincipal
from shared.db import transaction
from shared.logs import request_id_var
from shared.pagination import PageParams, fetch_page
from shared.problems import ProblemError
from shared.tokens import TokenClaims

# The gateway sets this header to the one address it saw the caller at (gateway/forwarded.py);
# whatever a caller sent under that name never reaches a service.
# Names a caller typed (a user name tried, a client id) are kept at most this long.
MAX_NAME = 200
# The reason of a login or token request whose credentials were wrong: a failure, where
# every other refusal is a rule's.
WRONG_CREDENTIALS = "wrong_credentials"


class SecurityEventKind(StrEnum):
    login = "login"
    lockout = "lockout"
    unlock = "unlock"
    client_token = "client_token"
    user_created = "user_created"
    user_roles_changed = "user_roles_changed"
    user_disabled = "user_disabled"
    user_enabled = "user_enabled"
    client_created = "client_created"
    client_secret_rotated = "client_secret_rotated"
    client_networks_changed = "client_networks_changed"
    client_revoked = "client_revoked"
    signing_key_rotated = "signing_key_rotated"
    trail_read = "trail_read"


class Outcome(StrEnum):
    succeeded = "succeeded"
    failed = "failed"  # wrong credentials
    refused = "refused"  # a rule said no: locked, expired, outside the networks, duties


class ActorKind(StrEnum):
    user = "user"
    client = "client"
    node = "node"
    operator = "operator"  # at the node's machine, through the CLI (database access)


@dataclass(frozen=True)
class Actor:
    """Who acts, with what roles, from which address."""

    name: str
    kind: ActorKind
    roles: frozenset[str] = field(default_factory=frozenset)
    source: str | None = None

    @classmethod
    def of(cls, principal: TokenClaims, source: str | None) -> Actor:
        return cls(principal.sub, ActorKind(principal.kind), frozenset(principal.roles),
                   source)

    def is_operator(self) -> bool:
        return self.kind == ActorKind.operator


AT_THE_MACHINE = Actor("operator", ActorKind.operator)
"""The CLI's actor: whoever runs `govshare` on the node's machine with its database."""


def sessions_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The service's session factory, for work that must commit whatever the call's outcome."""
    return request.app.state.runtime.sessions


def acting(principal: CurrentPrincipal, request: Request) -> Actor:
    return Actor.of(principal, caller_address(request))


SourceDep = Annotated[str | None, Depends(caller_address)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(sessions_of)]
ActorDep = Annotated[Actor, Depends(acting)]


def record(session: AsyncSession, actor: Actor, kind: SecurityEventKind, *,
           outcome: Outcome = Outcome.succeeded, target: str | None = None,
           reason: str | None = None, **detail: Any) -> SecurityEvent:
    """Append an event in the caller's transaction."""
    event = SecurityEvent(
        at=clock.now(), kind=kind, outcome=outcome, actor=_printable(actor.name),
        actor_kind=actor.kind, target=_printable(target) if target is not None else None,
        source=actor.source, reason=reason, detail=detail, request_id=request_id_var.get())
    session.add(event)
    return event


async def record_apart(sessions: async_sessionmaker[AsyncSession], actor: Actor,
                       kind: SecurityEventKind, **event: Any) -> None:
    """Append an event in a transaction of its own (for acts whose own one rolls back)."""
    async with transaction(sessions) as session:
        record(session, actor, kind, **event)


@asynccontextmanager
async def refusals_recorded(sessions: async_sessionmaker[AsyncSession], actor: Actor,
                            kind: SecurityEventKind, target: str | None = None
                            ) -> AsyncIterator[None]:
    """Record the refusal of the act the block attempts, then let the refusal go on."""
    try:
        yield
    except ProblemError as refusal:
        reason = reason_of(refusal)
        outcome = Outcome.failed if reason == WRONG_CREDENTIALS else Outcome.refused
        await record_apart(sessions, actor, kind, outcome=outcome, target=target,
                           reason=reason, status=refusal.status)
        raise


def reason_of(problem: ProblemError) -> str:
    """A problem's machine-readable reason: its `reason` extension, or its kind."""
    return str(problem.extensions.get("reason") or problem.slug)[:64]


@dataclass(frozen=True)
class TrailFilter:
    kinds: tuple[SecurityEventKind, ...] = ()
    outcome: Outcome | None = None
    actor: str | None = None
    target: str | None = None
    source: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    since: datetime | None = None
    until: datetime | None = None

    def applied(self, query: Select[tuple[SecurityEvent]]) -> Select[tuple[SecurityEvent]]:
        if self.kinds:
            query = query.where(SecurityEvent.kind.in_([str(kind) for kind in self.kinds]))
        if self.outcome:
            query = query.where(SecurityEvent.outcome == self.outcome)
        if self.actor:
            query = query.where(SecurityEvent.actor == _printable(self.actor))
        if self.target:
            query = query.where(SecurityEvent.target == _printable(self.target))
        if self.source:
            query = query.where(SecurityEvent.source.op("<<=")(str(self.source)))
        if self.since:
            query = query.where(SecurityEvent.at >= self.since)
        if self.until:
            query = query.where(SecurityEvent.at < self.until)
        return query

    def described(self) -> dict[str, Any]:
        """The filter as the trail records an auditor's reading of it."""
        return {name: str(value) if not isinstance(value, tuple) else [str(v) for v in value]
                for name, value in vars(self).items() if value}


async def read(session: AsyncSession, page: PageParams, reader: Actor,
               trail_filter: TrailFilter) -> tuple[list[SecurityEvent], int]:
    """A page of the trail, newest first; the reading itself is recorded (auditors are
    accountable too)."""
    query = trail_filter.applied(select(SecurityEvent))
    events, total = await fetch_page(session, query.order_by(SecurityEvent.id.desc()), page)
    record(session, reader, SecurityEventKind.trail_read, filter=trail_filter.described(),
           offset=page.offset, returned=len(events))
    return events, total


def _printable(name: str) -> str:
    # A name someone typed: PostgreSQL text holds no NUL, and the trail keeps a bounded length.
    return name.replace("\x00", "\\x00")[:MAX_NAME]
