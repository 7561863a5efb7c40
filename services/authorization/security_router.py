"""The security audit trail API (A7): read by staff auditors, and by nobody else; each
reading, and each refused attempt to read, is itself recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.authorization import security_log
from services.authorization.deps import SessionDep
from services.authorization.exceptions import TrailRefused
from services.authorization.security_log import (
    Actor,
    Outcome,
    SecurityEventKind,
    TrailFilter,
    record_apart,
    sessions_of,
)
from services.authorization.security_schemas import SecurityEventPublic
from shared.addresses import NetworkInput, caller_address
from shared.auth import CurrentPrincipal
from shared.contracts import Role
from shared.contracts.values import Moment
from shared.pagination import Page, PageDep
from shared.tokens import PrincipalKind

router = APIRouter(prefix="/security-events", tags=["security trail"])


async def trail_reader(principal: CurrentPrincipal, request: Request) -> Actor:
    """The auditor reading the trail: a staff user (a person, accountable) with that role."""
    reader = Actor.of(principal, caller_address(request))
    if principal.kind != PrincipalKind.user or not principal.has_role(Role.auditor):
        await record_apart(sessions_of(request), reader, SecurityEventKind.trail_read,
                           outcome=Outcome.refused, reason="auditor_only")
        raise TrailRefused("Only staff users holding the auditor role read the security "
                           "trail.", reason="auditor_only", required_roles=[Role.auditor])
    return reader


@router.get("", response_model=Page[SecurityEventPublic],
            summary="The security audit trail, newest first (staff auditors only)")
async def read_trail(
    reader: Annotated[Actor, Depends(trail_reader)], session: SessionDep, page: PageDep,
    kind: Annotated[list[SecurityEventKind], Query(description="Any of these kinds.")] = [],  # noqa: B006
    outcome: Outcome | None = None,
    actor: Annotated[str | None, Query(max_length=200, description="Who acted (for a "
                                       "login: the user name tried).")] = None,
    target: Annotated[str | None, Query(max_length=200,
                                        description="The user, client or key acted on.")] = None,
    source: Annotated[NetworkInput | None, Query(
        description="Acts from this network (CIDR) or address.")] = None,
    since: Annotated[Moment | None, Query(description="At or after (ISO 8601).")] = None,
    until: Annotated[Moment | None, Query(description="Before (ISO 8601).")] = None,
) -> dict[str, object]:
    trail_filter = TrailFilter(kinds=tuple(kind), outcome=outcome, actor=actor, target=target,
                               source=source, since=since, until=until)
    events, total = await security_log.read(session, page, reader, trail_filter)
    return page.wrap(events, total)
