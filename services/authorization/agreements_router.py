"""Confidentiality agreements API (A6): propose, confirm (the other party), renew, list, get.

Each party acts through its request reviewers; the parties and the oversight roles see an
agreement, nobody else learns it exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.authorization import agreements
from services.authorization.deps import (
    OutboxDep,
    Reviewer,
    SessionDep,
    department_of,
    oversees,
)
from services.authorization.models import ConfidentialityAgreement, Grant
from services.authorization.schemas import (
    AgreementConfirmation,
    AgreementCreate,
    AgreementPublic,
    AgreementTerms,
)
from shared import clock
from shared.auth import CurrentPrincipal
from shared.contracts.catalog import EntryCode
from shared.contracts.sharing import AgreementSnapshot, AgreementStatus
from shared.pagination import Page, PageDep
from shared.tokens import TokenClaims

router = APIRouter(prefix="/agreements", tags=["confidentiality agreements"])


@router.post("", response_model=AgreementPublic, status_code=status.HTTP_201_CREATED,
             summary="Propose a confidentiality agreement (a party); the other confirms it")
async def propose_agreement(body: AgreementCreate, principal: Reviewer, session: SessionDep,
                            outbox: OutboxDep) -> AgreementPublic:
    agreement = await agreements.propose(session, outbox, body, department=principal.department,
                                         actor=principal.sub, now=clock.now())
    return _public(agreement)


@router.get("", response_model=Page[AgreementSnapshot],
            summary="Confidentiality agreements, by entry and state")
async def list_agreements(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    entry_code: Annotated[EntryCode | None, Query()] = None,
    status: Annotated[list[AgreementStatus], Query(description="Any of these states; "
                                                   "`proposed` lists those waiting for a "
                                                   "confirmation.")] = [],  # noqa: B006
) -> dict[str, object]:
    parties = None if oversees(principal) else department_of(principal)
    items, total = await agreements.list_agreements(session, page, parties=parties,
                                                    entry_code=entry_code, status=status)
    return page.wrap([agreements.snapshot(a) for a in items], total)


@router.get("/{agreement_id}", response_model=AgreementSnapshot, summary="One agreement")
async def get_agreement(agreement_id: uuid.UUID, principal: CurrentPrincipal,
                        session: SessionDep) -> AgreementSnapshot:
    return agreements.snapshot(await _visible(session, agreement_id, principal))


@router.post("/{agreement_id}/confirmation", response_model=AgreementPublic,
             summary="Confirm the other party's proposal; activates or reinstates its grants")
async def confirm_agreement(agreement_id: uuid.UUID, body: AgreementConfirmation,
                            principal: Reviewer, session: SessionDep,
                            outbox: OutboxDep) -> AgreementPublic:
    agreement = await _visible(session, agreement_id, principal, for_update=True)
    activated, reinstated = await agreements.confirm(
        session, outbox, agreement, body, department=principal.department,
        actor=principal.sub, now=clock.now())
    return _public(agreement, activated, reinstated)


@router.post("/{agreement_id}/renewal", response_model=AgreementPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Propose the agreement that supersedes this one once confirmed")
async def renew_agreement(agreement_id: uuid.UUID, body: AgreementTerms, principal: Reviewer,
                          session: SessionDep, outbox: OutboxDep) -> AgreementPublic:
    agreement = await _visible(session, agreement_id, principal)
    renewal = await agreements.renew(session, outbox, agreement, body,
                                     department=principal.department, actor=principal.sub,
                                     now=clock.now())
    return _public(renewal)


async def _visible(session: SessionDep, agreement_id: uuid.UUID, principal: TokenClaims,
                   for_update: bool = False) -> ConfidentialityAgreement:
    return await agreements.get_visible(session, agreement_id, department=principal.department,
                                        oversees=oversees(principal), for_update=for_update)


def _public(agreement: ConfidentialityAgreement, activated: Sequence[Grant] = (),
            reinstated: Sequence[Grant] = ()) -> AgreementPublic:
    return AgreementPublic(**agreements.snapshot(agreement).model_dump(),
                           activated_grants=[grant.id for grant in activated],
                           reinstated_grants=[grant.id for grant in reinstated])
