"""Audit API (E5): who used whose data, how, and whose record they looked up; and the
verification of the hash chain, against its heads anchored outside the database too."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.exchange import audit, audit_anchor
from services.exchange.deps import Overseer, SessionDep, oversees
from services.exchange.exceptions import BadKey, EntryUnknown
from services.exchange.loading import validator_for
from services.exchange.models import Resource
from services.exchange.schemas import (
    AnchorReportPublic,
    AuditEntryPublic,
    SubjectSearch,
    VerificationPublic,
)
from services.exchange.validation import RowRejected
from shared.auth import CurrentPrincipal
from shared.contracts.exchange import AccessKind
from shared.contracts.values import Moment
from shared.identifiers import CreditCode
from shared.pagination import Page, PageDep
from shared.problems import Forbidden
from shared.tokens import TokenClaims

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
    items, total = await audit.search(session, page, party=_party(principal),
                                      consumer=consumer, provider=provider,
                                      entry_code=entry_code, kind=kind, since=since,
                                      until=until)
    return page.wrap(items, total)


def _party(principal: TokenClaims) -> str | None:
    """The department whose accesses the caller reads; None for auditors (all of them)."""
    if oversees(principal):
        return None
    if not principal.department:
        raise Forbidden("Only departments and auditors read the audit log.",
                        reason="no_department")
    return principal.department


@router.post("/subject-searches", response_model=Page[AuditEntryPublic],
             summary="Who looked up this record: the accesses that asked for its key")
async def search_by_subject(body: SubjectSearch, principal: CurrentPrincipal,
                            session: SessionDep, page: PageDep,
                            request: Request) -> dict[str, object]:
    """The key goes in the body, never in a URL that logs keep, and is hashed as the query
    path hashed it; the audit log holds no key to compare with."""
    party = _party(principal)
    validator = None
    if body.entry_code:
        resource = await session.get(Resource, body.entry_code)
        if resource is None:
            raise EntryUnknown(f"No catalog entry has code {body.entry_code}.")
        validator = validator_for(resource)
    try:
        wanted = request.app.state.queries.subject_keys.candidates(body.key, validator)
    except RowRejected as error:
        raise BadKey(str(error), field="key") from None
    items, total = await audit.search(session, page, party=party, consumer=None,
                                      provider=None, entry_code=body.entry_code, kind=None,
                                      since=None, until=None, subject_keys=wanted)
    return page.wrap(items, total)


@router.get("/verification", response_model=VerificationPublic,
            summary="Recompute the hash chain, compare it with its anchored heads, and "
                    "report the first broken entry")
async def verify_chain(principal: Overseer, session: SessionDep,
                       request: Request) -> VerificationPublic:
    """A chain rewritten in the database whole, checkpoints included, still fits together;
    it no longer has the hashes the parent node countersigned (or the archive holds)."""
    chain = asdict(await audit.verify(session))
    anchored = await audit_anchor.compare(session, request.app.state.anchorer)
    if chain["valid"] and anchored.mismatches:
        chain |= {"valid": False, "broken_at_position": anchored.first_mismatch_position,
                  "reason": anchored.reason}
    return VerificationPublic(**chain, anchored=AnchorReportPublic.model_validate(
        anchored, from_attributes=True))
