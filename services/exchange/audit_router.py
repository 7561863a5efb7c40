"""Audit API (E5): who used whose data, how; and the verification of the hash chain."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from services.exchange import audit
from services.exchange.deps import Overseer, SessionDep, oversees
from services.exchange.schemas import AuditEntryPublic, VerificationPublic
from shared.auth import CurrentPrincipal
from shared.contracts.exchange import AccessKind
from shared.contracts.values import Moment
from shared.identifiers import CreditCode
from shared.pagination import Page, PageDep
from shared.problems import Forbidden

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryPublic],
            summary="Accesses: a department sees those to and by it; auditors see all")
async def search_audit(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    consumer: Annotated[CreditCode | None, Query()] = None,
    provider: Annotated[CreditCode | None, Query()] = None,
    entry_code: Annotated[str | None, Query(max_length=30)] = None,
    kind: AccessKind | None = None,
    since: Annotated[Moment | None, Query(description="Accesses at or after (ISO 8601).")] = None,
    until: Annotated[Moment | None, Query(description="Accesses before (ISO 8601).")] = None,
) -> dict[str, object]:
    party = None if oversees(principal) else principal.department
    if party is None and not oversees(principal):
        raise Forbidden("Only departments and auditors read the audit log.",
                        reason="no_department")
    items, total = await audit.search(session, page, party=party, consumer=consumer,
                                      provider=provider, entry_code=entry_code, kind=kind,
                                      since=since, until=until)
    return page.wrap(items, total)


@router.get("/verification", response_model=VerificationPublic,
            summary="Recompute the hash chain and report the first broken entry")
async def verify_chain(principal: Overseer, session: SessionDep) -> VerificationPublic:
    return VerificationPublic(**asdict(await audit.verify(session)))
