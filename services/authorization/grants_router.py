"""Grants API (A5): list, revoke, renew; access decisions.

The access decision answers for the caller's own department only: a grant is bound to the
department that holds it, so a token of any other department is refused [51 §14].
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.authorization import grants
from services.authorization.deps import (
    OutboxDep,
    Reviewer,
    SessionDep,
    department_of,
    oversees,
)
from services.authorization.exceptions import GrantNotFound
from services.authorization.schemas import (
    AccessDecisionPublic,
    AccessQueryCreate,
    ReasonCreate,
    RenewalCreate,
)
from shared import clock
from shared.access import AccessQuery, decide
from shared.auth import CurrentPrincipal
from shared.contracts.catalog import EntryCode
from shared.contracts.sharing import GrantSnapshot, GrantStatus
from shared.db import transaction
from shared.identifiers import CreditCode
from shared.pagination import Page, PageDep

router = APIRouter()


@router.get("/grants", response_model=Page[GrantSnapshot], tags=["grants"],
            summary="Grants by resource, consumer, provider and state")
async def list_grants(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    entry_code: Annotated[EntryCode | None, Query()] = None,
    consumer: Annotated[CreditCode | None, Query()] = None,
    provider: Annotated[CreditCode | None, Query()] = None,
    status: Annotated[list[GrantStatus], Query(description="Any of these states.")] = [],  # noqa: B006
) -> dict[str, object]:
    parties = None if oversees(principal) else department_of(principal)
    items, total = await grants.list_grants(session, page, parties=parties, consumer=consumer,
                                            provider=provider, entry_code=entry_code,
                                            status=status)
    return page.wrap([grants.snapshot(g) for g in items], total)


@router.get("/grants/{grant_id}", response_model=GrantSnapshot, tags=["grants"],
            summary="One grant")
async def get_grant(grant_id: uuid.UUID, principal: CurrentPrincipal,
                    session: SessionDep) -> GrantSnapshot:
    grant = await session.get(grants.Grant, grant_id)
    if grant is None or not (oversees(principal)
                             or principal.department in (grant.consumer, grant.provider)):
        raise GrantNotFound(f"No grant has id {grant_id}.")
    return grants.snapshot(grant)


@router.post("/grants/{grant_id}/revocation", response_model=GrantSnapshot, tags=["grants"],
             summary="Revoke a grant with a reason (provider); in force when answered",
             description="Answered once the node's exchange decides every data call on the "
                         "revoked grant, so no call that starts after the answer is served. "
                         "If the exchange has not applied it in time, 503 `not-yet-in-force`:"
                         " the revocation is kept, and sending it again answers 200 once it "
                         "is in force (a revoked grant's revocation changes nothing more).")
async def revoke_grant(grant_id: uuid.UUID, body: ReasonCreate, principal: Reviewer,
                       request: Request) -> GrantSnapshot:
    runtime = request.app.state.runtime
    # Committed before the wait: the exchange learns of it from the event this writes.
    async with transaction(runtime.sessions) as session:
        grant = await grants.get_for_update(session, grant_id)
        grants.require_provider(grant, principal.department)
        if grant.status != GrantStatus.revoked:
            await grants.revoke(session, runtime.outbox, grant, actor=principal.sub,
                                reason=body.reason)
        revoked = grants.snapshot(grant)
    await request.app.state.exchange_view.wait_until_applied(revoked.id, revoked.version)
    return revoked


@router.post("/grants/{grant_id}/renewal", response_model=GrantSnapshot, tags=["grants"],
             summary="Extend a grant's period (provider)")
async def renew_grant(grant_id: uuid.UUID, body: RenewalCreate, principal: Reviewer,
                      session: SessionDep, outbox: OutboxDep) -> GrantSnapshot:
    grant = await grants.get_for_update(session, grant_id)
    grants.require_provider(grant, principal.department)
    await grants.renew(session, outbox, grant, valid_until=body.valid_until,
                       actor=principal.sub, now=clock.now())
    return grants.snapshot(grant)


@router.post("/access-decisions", response_model=AccessDecisionPublic, tags=["grants"],
             summary="May my department have these items now, for this purpose?")
async def decide_access(body: AccessQueryCreate, principal: CurrentPrincipal,
                        session: SessionDep) -> AccessDecisionPublic:
    consumer = department_of(principal)
    held = await grants.held_by(session, consumer, body.entry_code)
    decision = decide(held, AccessQuery(consumer=consumer, entry_code=body.entry_code,
                                        purpose=body.purpose, method=body.method,
                                        items=frozenset(body.items)), clock.now())
    granted = decision.grant if decision.allowed else None
    return AccessDecisionPublic(
        allowed=decision.allowed, denial=decision.denial, detail=decision.detail,
        grant_id=granted.id if granted else None, items=list(decision.items),
        row_filter=granted.row_filter if granted else [],
        rate_limit_per_minute=granted.rate_limit_per_minute if granted else None)

