"""Security and confidentiality agreements (保密协议, A6) [BJ 三(五)].

A grant for a sensitive resource stays pending until the consumer and the provider have an
agreement on file; filing one activates the consumer's pending grants for that resource.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import grants
from services.authorization.exceptions import AgreementExists, NotAParty, ResourceUnknown
from services.authorization.models import ConfidentialityAgreement, Grant, SharedResource
from services.authorization.schemas import AgreementCreate
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page


async def file_agreement(session: AsyncSession, outbox: Outbox, body: AgreementCreate, *,
                         department: str | None, actor: str, today: date
                         ) -> tuple[ConfidentialityAgreement, list[Grant]]:
    """Put an agreement on file for one party pair and resource; activate what waited."""
    resource = await session.get(SharedResource, body.entry_code)
    if resource is None:
        raise ResourceUnknown(f"No catalog entry has code {body.entry_code}.",
                              field="entry_code")
    if department not in (body.consumer, resource.provider):
        raise NotAParty("Only the consumer or the provider files their agreement.",
                        reason="not_party")
    agreement = ConfidentialityAgreement(
        consumer=body.consumer, provider=resource.provider, entry_code=body.entry_code,
        reference=body.reference, signed_on=body.signed_on, valid_until=body.valid_until,
        filed_by=actor)
    try:
        async with session.begin_nested():
            session.add(agreement)
            await session.flush()
    except IntegrityError as error:
        raise AgreementExists(f"Agreement {body.reference} is already on file.",
                              field="reference") from error
    activated = []
    if body.valid_until is None or body.valid_until >= today:
        activated = await grants.activate_agreed(session, outbox, consumer=body.consumer,
                                                 entry_code=body.entry_code, actor=actor)
    await session.refresh(agreement, ["filed_at"])
    return agreement, activated


async def list_agreements(session: AsyncSession, page: PageParams, *, parties: str | None,
                          entry_code: str | None) -> tuple[list[ConfidentialityAgreement], int]:
    query = select(ConfidentialityAgreement)
    if parties:
        query = query.where((ConfidentialityAgreement.consumer == parties)
                            | (ConfidentialityAgreement.provider == parties))
    if entry_code:
        query = query.where(ConfidentialityAgreement.entry_code == entry_code)
    order = (ConfidentialityAgreement.filed_at.desc(), ConfidentialityAgreement.id)
    return await fetch_page(session, query.order_by(*order), page)
