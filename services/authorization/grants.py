"""Grants (A5, A6): bound to consumer, entry, items, purpose and period; never transferable.

    pending_agreement ──(agreement confirmed)──▶ active ──(valid_until passes)──▶ expired
            │                        (agreement lapses) │ ▲ (renewed agreement         │
            │                                           ▼ │  confirmed)              │
            │                                        suspended                       │
            └──────(revoke, entry withdrawn)────────────┴─┴──(renew)─────────────────┘
                                                        ▼
                                                 revoked / ended

Every change bumps `version` and leaves a grant event with the full snapshot through the
outbox: the exchange service decides every access from those events alone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import GrantNotFound, NotAParty
from services.authorization.models import ConfidentialityAgreement, Grant, ShareRequest
from shared.contracts.sharing import (
    AccessTerms,
    AgreementStatus,
    GrantActivated,
    GrantAdjusted,
    GrantEnded,
    GrantEvent,
    GrantExpired,
    GrantIssued,
    GrantReinstated,
    GrantRenewed,
    GrantRevoked,
    GrantSnapshot,
    GrantStatus,
    GrantSuspended,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.problems import IllegalTransition
from shared.workdays import china_date, end_of_day

PLATFORM = "platform"  # the actor of changes nobody made by hand: expiry, catalog changes

WAITING = "Waiting for a confidentiality agreement (A6)."
# Which states each change may start from: the grant state machine.
_UNENDED = {GrantStatus.pending_agreement, GrantStatus.active, GrantStatus.suspended}
ALLOWED_FROM = {
    "activate": {GrantStatus.pending_agreement},
    "suspend": {GrantStatus.active},
    "reinstate": {GrantStatus.suspended},
    "revoke": _UNENDED,
    "renew": {GrantStatus.active, GrantStatus.expired, GrantStatus.suspended},
    "expire": _UNENDED,
    "end": _UNENDED,
    "adjust": _UNENDED,
}
LIVE = ALLOWED_FROM["end"]


def snapshot(grant: Grant) -> GrantSnapshot:
    return GrantSnapshot.model_validate(grant, from_attributes=True)


async def issue(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                terms: AccessTerms, *, sensitive: bool, actor: str, now: datetime) -> Grant:
    """Grant `request`'s consumer what `terms` allow; a sensitive resource's grant waits for
    a confidentiality agreement unless one is in force (A6)."""
    covered_until = await _agreement_in_force(session, request.consumer, request.entry_code,
                                              china_date(now)) if sensitive else None
    agreed = not sensitive or covered_until is not None
    grant = Grant(
        node=request.node, request_id=request.id, consumer=request.consumer,
        provider=request.provider, entry_code=request.entry_code, purpose=request.purpose,
        methods=list(request.methods), items=list(terms.items),
        row_filter=[condition.model_dump() for condition in terms.row_filter],
        rate_limit_per_minute=terms.rate_limit_per_minute, valid_from=china_date(now),
        valid_until=terms.valid_until, expires_at=end_of_day(terms.valid_until),
        sensitive=sensitive, covered_until=covered_until,
        status=GrantStatus.active if agreed else GrantStatus.pending_agreement,
        status_reason=None if agreed else WAITING,
        version=1, issued_at=now,
    )
    session.add(grant)
    await session.flush()
    await _announce(session, outbox, grant, GrantIssued, actor)
    return grant


async def get_for_update(session: AsyncSession, grant_id: object) -> Grant:
    grant = await session.get(Grant, grant_id, with_for_update=True, populate_existing=True)
    if grant is None:
        raise GrantNotFound(f"No grant has id {grant_id}.")
    return grant


def require_provider(grant: Grant, department: str | None) -> None:
    if department != grant.provider:
        raise NotAParty("Only the providing department can change this grant.",
                        reason="not_provider")


async def revoke(session: AsyncSession, outbox: Outbox, grant: Grant, *, actor: str,
                 reason: str) -> Grant:
    """End the grant now; the next access decision already refuses it."""
    _change(grant, "revoke", GrantStatus.revoked, reason)
    await _announce(session, outbox, grant, GrantRevoked, actor, reason)
    return grant


async def renew(session: AsyncSession, outbox: Outbox, grant: Grant, *, valid_until: date,
                actor: str, now: datetime) -> Grant:
    """Extend the grant to `valid_until` (A5); an expired grant becomes active again, unless
    it needs a confidentiality agreement that is not in force (A6)."""
    if valid_until <= max(grant.valid_until, china_date(now)):
        raise IllegalTransition(
            f"A renewal must extend the grant beyond {grant.valid_until} and today.",
            current_state=grant.status)
    covered_until = await _agreement_in_force(session, grant.consumer, grant.entry_code,
                                              china_date(now)) if grant.sensitive else None
    if not grant.sensitive or covered_until is not None:
        grant.covered_until = covered_until
        _change(grant, "renew", GrantStatus.active, None)
    elif grant.status != GrantStatus.suspended:
        _change(grant, "renew", GrantStatus.pending_agreement, WAITING)
    else:
        _change(grant, "renew", GrantStatus.suspended, grant.status_reason)
    grant.valid_until, grant.expires_at = valid_until, end_of_day(valid_until)
    await _announce(session, outbox, grant, GrantRenewed, actor)
    return grant


async def cover_by_agreement(session: AsyncSession, outbox: Outbox, *, consumer: str,
                             entry_code: str, valid_until: date, actor: str
                             ) -> tuple[list[Grant], list[Grant]]:
    """A confidentiality agreement came into force (A6): the consumer's grants that waited
    for one become active, those suspended when the last one lapsed are reinstated, and
    those still active on the agreement it renews are covered until its new last day (the
    exchange refuses them after the old one otherwise)."""
    covered = list(await session.scalars(_live(entry_code).where(
        Grant.consumer == consumer, Grant.sensitive.is_(True),
        Grant.status.in_([GrantStatus.pending_agreement, GrantStatus.suspended,
                          GrantStatus.active]))))
    activated, reinstated = [], []
    for grant in covered:
        grant.covered_until = valid_until
        if grant.status == GrantStatus.active:
            _change(grant, "adjust", GrantStatus.active, None)
            await _announce(session, outbox, grant, GrantAdjusted, actor,
                            f"Covered by a renewed confidentiality agreement until "
                            f"{valid_until} (A6).")
        elif grant.status == GrantStatus.pending_agreement:
            _change(grant, "activate", GrantStatus.active, None)
            await _announce(session, outbox, grant, GrantActivated, actor)
            activated.append(grant)
        else:
            _change(grant, "reinstate", GrantStatus.active, None)
            await _announce(session, outbox, grant, GrantReinstated, actor)
            reinstated.append(grant)
    return activated, reinstated


async def suspend_uncovered(session: AsyncSession, outbox: Outbox, *, consumer: str,
                            entry_code: str, reason: str) -> list[Grant]:
    """The agreement covering the consumer's sensitive grants lapsed (A6): they are
    refused until a renewed one is confirmed; each suspension tells both departments."""
    covered = list(await session.scalars(_live(entry_code).where(
        Grant.consumer == consumer, Grant.sensitive.is_(True),
        Grant.status == GrantStatus.active)))
    for grant in covered:
        _change(grant, "suspend", GrantStatus.suspended, reason)
        await _announce(session, outbox, grant, GrantSuspended, PLATFORM, reason)
    return covered


async def expire_due(session: AsyncSession, outbox: Outbox, now: datetime,
                     batch: int = 500) -> int:
    """Expire live grants whose period has ended; safe on several replicas at once."""
    due = await session.scalars(
        select(Grant).where(Grant.status.in_(LIVE), Grant.expires_at <= now)
        .order_by(Grant.expires_at).limit(batch).with_for_update(skip_locked=True))
    expired = list(due)
    for grant in expired:
        _change(grant, "expire", GrantStatus.expired, f"The period ended on {grant.valid_until}.")
        await _announce(session, outbox, grant, GrantExpired, PLATFORM, grant.status_reason)
    return len(expired)


async def end_for_entry(session: AsyncSession, outbox: Outbox, entry_code: str,
                        reason: str) -> None:
    for grant in list(await session.scalars(_live(entry_code))):
        _change(grant, "end", GrantStatus.ended, reason)
        await _announce(session, outbox, grant, GrantEnded, PLATFORM, reason)


async def narrow_to_catalogued(session: AsyncSession, outbox: Outbox, entry_code: str,
                               catalogued: set[str]) -> None:
    """Drop items the entry no longer catalogues; a grant left with none ends."""
    for grant in list(await session.scalars(_live(entry_code))):
        kept = [item for item in grant.items if item in catalogued]
        if kept == grant.items:
            continue
        dropped = sorted(set(grant.items) - set(kept))
        reason = f"The entry no longer catalogues {', '.join(dropped)}."
        if not kept:
            _change(grant, "end", GrantStatus.ended, reason)
            await _announce(session, outbox, grant, GrantEnded, PLATFORM, reason)
            continue
        _change(grant, "adjust", GrantStatus(grant.status), grant.status_reason)
        grant.items = kept
        await _announce(session, outbox, grant, GrantAdjusted, PLATFORM, reason)


async def list_grants(session: AsyncSession, page: PageParams, *, parties: str | None,
                      consumer: str | None, provider: str | None, entry_code: str | None,
                      status: list[GrantStatus]) -> tuple[list[Grant], int]:
    """Grants by consumer, provider, entry and status; `parties` limits them to one
    department's (as consumer or provider) for callers that may not see all."""
    query = select(Grant)
    if parties:
        query = query.where((Grant.consumer == parties) | (Grant.provider == parties))
    if consumer:
        query = query.where(Grant.consumer == consumer)
    if provider:
        query = query.where(Grant.provider == provider)
    if entry_code:
        query = query.where(Grant.entry_code == entry_code)
    if status:
        query = query.where(Grant.status.in_(status))
    return await fetch_page(session, query.order_by(Grant.issued_at.desc(), Grant.id), page)


async def held_by(session: AsyncSession, consumer: str, entry_code: str) -> list[GrantSnapshot]:
    """Every grant `consumer` holds for `entry_code`, for an access decision."""
    held = await session.scalars(select(Grant).where(Grant.consumer == consumer,
                                                     Grant.entry_code == entry_code))
    return [snapshot(grant) for grant in held]


def _live(entry_code: str) -> Select[tuple[Grant]]:
    return (select(Grant).where(Grant.entry_code == entry_code, Grant.status.in_(LIVE))
            .with_for_update())


async def _agreement_in_force(session: AsyncSession, consumer: str, entry_code: str,
                              today: date) -> date | None:
    """The last day of the agreement in force for the pair, if any. Its last day, not the
    lapse sweep, decides: the sweep may not have run yet."""
    return await session.scalar(select(ConfidentialityAgreement.valid_until).where(
        ConfidentialityAgreement.consumer == consumer,
        ConfidentialityAgreement.entry_code == entry_code,
        ConfidentialityAgreement.status == AgreementStatus.in_force,
        ConfidentialityAgreement.valid_until >= today,
    ))


def _change(grant: Grant, change: str, to: GrantStatus, reason: str | None) -> None:
    if grant.status not in ALLOWED_FROM[change]:
        raise IllegalTransition(f"A grant in state {grant.status} cannot {change}.",
                                current_state=grant.status)
    grant.status, grant.status_reason, grant.version = to, reason, grant.version + 1


async def _announce(session: AsyncSession, outbox: Outbox, grant: Grant,
                    event: type[GrantEvent], actor: str, reason: str | None = None) -> None:
    await session.flush()
    await outbox.add(session, str(grant.id), event(grant=snapshot(grant), actor=actor,
                                                   reason=reason))
