"""Grants (A5, A6): bound to consumer, entry, items, purpose and period; never transferable.

    pending_agreement ──(agreement filed)──▶ active ──(valid_until passes)──▶ expired
            │                                  │  ▲                              │
            └──────────(revoke, entry withdrawn)┴──┴─(renew)─────────────────────┘
                                               ▼
                                     revoked / ended

Every change bumps `version` and leaves a grant event with the full snapshot through the
outbox: the exchange service decides every access from those events alone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import GrantNotFound, NotAParty
from services.authorization.models import ConfidentialityAgreement, Grant, ShareRequest
from shared.contracts.sharing import (
    AccessTerms,
    GrantActivated,
    GrantAdjusted,
    GrantEnded,
    GrantEvent,
    GrantExpired,
    GrantIssued,
    GrantRenewed,
    GrantRevoked,
    GrantSnapshot,
    GrantStatus,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.problems import IllegalTransition
from shared.workdays import china_date, end_of_day

PLATFORM = "platform"  # the actor of changes nobody made by hand: expiry, catalog changes

# Which states each change may start from: the grant state machine.
ALLOWED_FROM = {
    "activate": {GrantStatus.pending_agreement},
    "revoke": {GrantStatus.pending_agreement, GrantStatus.active},
    "renew": {GrantStatus.active, GrantStatus.expired},
    "expire": {GrantStatus.pending_agreement, GrantStatus.active},
    "end": {GrantStatus.pending_agreement, GrantStatus.active},
    "adjust": {GrantStatus.pending_agreement, GrantStatus.active},
}
LIVE = ALLOWED_FROM["end"]


def snapshot(grant: Grant) -> GrantSnapshot:
    return GrantSnapshot.model_validate(grant, from_attributes=True)


async def issue(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                terms: AccessTerms, *, sensitive: bool, actor: str, now: datetime) -> Grant:
    """Grant `request`'s consumer what `terms` allow; a sensitive resource's grant waits for
    a confidentiality agreement unless one is already on file (A6)."""
    agreed = not sensitive or await _agreement_on_file(
        session, request.consumer, request.entry_code, china_date(now))
    grant = Grant(
        node=request.node, request_id=request.id, consumer=request.consumer,
        provider=request.provider, entry_code=request.entry_code, purpose=request.purpose,
        methods=list(request.methods), items=list(terms.items),
        row_filter=[condition.model_dump() for condition in terms.row_filter],
        rate_limit_per_minute=terms.rate_limit_per_minute, valid_from=china_date(now),
        valid_until=terms.valid_until, expires_at=end_of_day(terms.valid_until),
        sensitive=sensitive,
        status=GrantStatus.active if agreed else GrantStatus.pending_agreement,
        status_reason=None if agreed else "Waiting for a confidentiality agreement (A6).",
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
    """Extend the grant to `valid_until` (A5); an expired grant becomes active again."""
    if valid_until <= max(grant.valid_until, china_date(now)):
        raise IllegalTransition(
            f"A renewal must extend the grant beyond {grant.valid_until} and today.",
            current_state=grant.status)
    _change(grant, "renew", GrantStatus.active, None)
    grant.valid_until, grant.expires_at = valid_until, end_of_day(valid_until)
    await _announce(session, outbox, grant, GrantRenewed, actor)
    return grant


async def activate_agreed(session: AsyncSession, outbox: Outbox, *, consumer: str,
                          entry_code: str, actor: str) -> list[Grant]:
    """A confidentiality agreement was filed: the consumer's pending grants become active."""
    pending = await session.scalars(_live(entry_code).where(
        Grant.consumer == consumer, Grant.status == GrantStatus.pending_agreement))
    activated = list(pending)
    for grant in activated:
        _change(grant, "activate", GrantStatus.active, None)
        await _announce(session, outbox, grant, GrantActivated, actor)
    return activated


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


async def _agreement_on_file(session: AsyncSession, consumer: str, entry_code: str,
                             today: date) -> bool:
    return bool(await session.scalar(select(exists().where(
        ConfidentialityAgreement.consumer == consumer,
        ConfidentialityAgreement.entry_code == entry_code,
        (ConfidentialityAgreement.valid_until.is_(None))
        | (ConfidentialityAgreement.valid_until >= today),
    ))))


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
