"""Security and confidentiality agreements (保密协议, A6) [BJ 三(五)].

    proposed ──(the other party confirms)──▶ in_force ──(its last day passes)──▶ lapsed
                                                 │                                 │
                                                 └──(a later one is confirmed)─────┴─▶ superseded

An agreement binds two departments, so one of them proposes it and the other confirms it,
naming the same signed document (its SHA-256); the party that proposed cannot confirm. A
grant for a sensitive resource waits until an agreement for its consumer and entry is in
force. When that agreement lapses, the grants it covered are suspended until a renewed one is
confirmed. One confirmed agreement stands per consumer and entry: confirming another
supersedes it. Every change is an event carrying the agreement's snapshot.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import grants
from services.authorization.exceptions import (
    AgreementConfirmedMeanwhile,
    AgreementExists,
    AgreementNotFound,
    NotAParty,
    ResourceUnknown,
    SharingRuleViolation,
)
from services.authorization.models import ConfidentialityAgreement, Grant, SharedResource
from services.authorization.schemas import AgreementConfirmation, AgreementCreate, AgreementTerms
from shared.contracts.sharing import (
    AgreementConfirmed,
    AgreementEvent,
    AgreementLapsed,
    AgreementProposed,
    AgreementSnapshot,
    AgreementStatus,
    AgreementSuperseded,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.problems import IllegalTransition
from shared.workdays import china_date

A = ConfidentialityAgreement
CONFIRMED = (AgreementStatus.in_force, AgreementStatus.lapsed)
RULE, ARTICLE = "A6", "BJ 三(五)"


def snapshot(agreement: ConfidentialityAgreement) -> AgreementSnapshot:
    return AgreementSnapshot.model_validate(agreement)


async def propose(session: AsyncSession, outbox: Outbox, body: AgreementCreate, *,
                  department: str | None, actor: str, now: datetime) -> ConfidentialityAgreement:
    """One party proposes an agreement for a consumer and an entry; the other confirms it."""
    resource = await session.get(SharedResource, body.entry_code)
    if resource is None:
        raise ResourceUnknown(f"No catalog entry has code {body.entry_code}.",
                              field="entry_code")
    if department not in (body.consumer, resource.provider):
        raise NotAParty("Only the consumer or the provider proposes their agreement.",
                        reason="not_party")
    if body.consumer == resource.provider:
        raise SharingRuleViolation("A department signs no agreement with itself.",
                                   field="consumer", rule=RULE, article=ARTICLE)
    return await _propose(session, outbox, body, consumer=body.consumer,
                          provider=resource.provider, entry_code=body.entry_code,
                          department=department, actor=actor, now=now)


async def renew(session: AsyncSession, outbox: Outbox, agreement: ConfidentialityAgreement,
                body: AgreementTerms, *, department: str | None, actor: str,
                now: datetime) -> ConfidentialityAgreement:
    """Propose the agreement that will supersede a confirmed one once the other party
    confirms it; until then the old one stands (or stays lapsed)."""
    _require_party(agreement, department)
    if agreement.status not in CONFIRMED:
        raise IllegalTransition(f"Only a confirmed agreement is renewed; this one is "
                                f"{agreement.status}.", current_state=agreement.status)
    return await _propose(session, outbox, body, consumer=agreement.consumer,
                          provider=agreement.provider, entry_code=agreement.entry_code,
                          department=department, actor=actor, now=now)


async def confirm(session: AsyncSession, outbox: Outbox, agreement: ConfidentialityAgreement,
                  body: AgreementConfirmation, *, department: str | None, actor: str,
                  now: datetime) -> tuple[list[Grant], list[Grant]]:
    """The other party confirms the same signed document: the agreement comes into force,
    supersedes the one before it, and activates or reinstates the grants it covers. Returns
    the grants activated and those reinstated."""
    _require_party(agreement, department)
    if department == agreement.proposer:
        raise NotAParty("The party that proposed the agreement cannot confirm it; the other "
                        "party does.", reason="proposer")
    if agreement.status != AgreementStatus.proposed:
        raise IllegalTransition(f"The agreement is {agreement.status}; only a proposal is "
                                "confirmed.", current_state=agreement.status)
    if body.document_sha256 != agreement.document_sha256:
        raise SharingRuleViolation(
            "The confirmed document's SHA-256 differs from the proposal's "
            f"({agreement.document_sha256 or 'none on file'}): the parties did not sign the "
            "same document.", field="document_sha256", rule=RULE, article=ARTICLE)
    if agreement.valid_until is None or agreement.valid_until < china_date(now):
        raise SharingRuleViolation(
            f"The agreement was valid until {agreement.valid_until}; propose a renewed one.",
            field="valid_until", rule=RULE, article=ARTICLE)
    await _supersede_confirmed(session, outbox, agreement, actor)
    _move(agreement, AgreementStatus.in_force)
    agreement.confirmed_by, agreement.confirmed_at = actor, now
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:  # another agreement for the pair, confirmed at once
        raise AgreementConfirmedMeanwhile(
            "Another agreement for this consumer and entry was confirmed meanwhile; renew "
            "that one instead.") from error
    await _announce(session, outbox, agreement, AgreementConfirmed, actor)
    return await grants.cover_by_agreement(session, outbox, consumer=agreement.consumer,
                                           entry_code=agreement.entry_code,
                                           valid_until=agreement.valid_until, actor=actor)


async def lapse_due(session: AsyncSession, outbox: Outbox, now: datetime,
                    batch: int = 500) -> int:
    """Agreements past their last day lapse and the grants they covered are suspended (A6).
    Safe on several replicas at once."""
    due = await session.scalars(
        select(A).where(A.status == AgreementStatus.in_force, A.valid_until < china_date(now))
        .order_by(A.valid_until).limit(batch).with_for_update(skip_locked=True))
    lapsed = list(due)
    for agreement in lapsed:
        _move(agreement, AgreementStatus.lapsed)
        agreement.lapsed_at = now
        await _announce(session, outbox, agreement, AgreementLapsed, grants.PLATFORM)
        await grants.suspend_uncovered(
            session, outbox, consumer=agreement.consumer, entry_code=agreement.entry_code,
            reason=f"Confidentiality agreement {agreement.reference} lapsed after "
                   f"{agreement.valid_until}; suspended until a renewed one is confirmed (A6).")
    return len(lapsed)


async def get_visible(session: AsyncSession, agreement_id: uuid.UUID, *, department: str | None,
                      oversees: bool, for_update: bool = False) -> ConfidentialityAgreement:
    """The agreement, if the caller is a party or oversees; otherwise not even its
    existence is shown."""
    agreement = await session.get(A, agreement_id, with_for_update=for_update,
                                  populate_existing=for_update)
    if agreement is None or not (oversees or department in (agreement.consumer,
                                                            agreement.provider)):
        raise AgreementNotFound(f"No agreement has id {agreement_id}.")
    return agreement


async def list_agreements(session: AsyncSession, page: PageParams, *, parties: str | None,
                          entry_code: str | None, status: list[AgreementStatus]
                          ) -> tuple[list[ConfidentialityAgreement], int]:
    query = select(A)
    if parties:
        query = query.where((A.consumer == parties) | (A.provider == parties))
    if entry_code:
        query = query.where(A.entry_code == entry_code)
    if status:
        query = query.where(A.status.in_(status))
    return await fetch_page(session, query.order_by(A.proposed_at.desc(), A.id), page)


async def _propose(session: AsyncSession, outbox: Outbox, body: AgreementTerms, *,
                   consumer: str, provider: str, entry_code: str, department: str | None,
                   actor: str, now: datetime) -> ConfidentialityAgreement:
    today = china_date(now)
    if body.signed_on > today:
        raise SharingRuleViolation(f"An agreement signed on {body.signed_on} is not signed "
                                   "yet.", field="signed_on", rule=RULE, article=ARTICLE)
    if body.valid_until < max(today, body.signed_on):
        raise SharingRuleViolation(f"An agreement valid until {body.valid_until} is over "
                                   "already.", field="valid_until", rule=RULE, article=ARTICLE)
    agreement = A(consumer=consumer, provider=provider, entry_code=entry_code,
                  reference=body.reference, document_sha256=body.document_sha256,
                  signed_on=body.signed_on, valid_until=body.valid_until,
                  status=AgreementStatus.proposed, version=1, proposer=department,
                  proposed_by=actor, proposed_at=now)
    try:
        async with session.begin_nested():
            session.add(agreement)
            await session.flush()
    except IntegrityError as error:
        raise AgreementExists(f"Agreement {body.reference} is already on file for this "
                              "consumer and entry.", field="reference") from error
    await _announce(session, outbox, agreement, AgreementProposed, actor)
    return agreement


async def _supersede_confirmed(session: AsyncSession, outbox: Outbox,
                               successor: ConfidentialityAgreement, actor: str) -> None:
    standing = await session.scalars(select(A).where(
        A.consumer == successor.consumer, A.entry_code == successor.entry_code,
        A.status.in_(CONFIRMED)).with_for_update())
    for agreement in list(standing):
        _move(agreement, AgreementStatus.superseded)
        successor.supersedes = agreement.id
        await _announce(session, outbox, agreement, AgreementSuperseded, actor)


def _require_party(agreement: ConfidentialityAgreement, department: str | None) -> None:
    if department not in (agreement.consumer, agreement.provider):
        raise NotAParty("Only the consumer or the provider acts on their agreement.",
                        reason="not_party")


def _move(agreement: ConfidentialityAgreement, status: AgreementStatus) -> None:
    agreement.status, agreement.version = status, agreement.version + 1


async def _announce(session: AsyncSession, outbox: Outbox, agreement: ConfidentialityAgreement,
                    event: type[AgreementEvent], actor: str) -> None:
    await session.flush()  # the superseded one leaves the unique index before its successor
    await outbox.add(session, str(agreement.id), event(agreement=snapshot(agreement),
                                                       actor=actor))
