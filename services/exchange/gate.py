"""The decision in front of every data access (E2–E4): grant, purpose, items, rate.

Grants come from this service's read model of the sharing events only. A refusal is audited
in a transaction of its own (attempts beyond a grant count in the evaluation) and answered
with the condition that failed, never with data. A grant's rate limit is kept per replica.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange import audit
from services.exchange.exceptions import AccessDenied, GrantRateExceeded
from services.exchange.models import GrantView, Resource
from shared import clock
from shared.access import AccessDecision, AccessQuery, decide
from shared.contracts.catalog import PermittedUse, ShareMethod
from shared.contracts.exchange import AccessKind
from shared.contracts.sharing import GrantSnapshot
from shared.ratelimit import RateLimiter, retry_after_header
from shared.tokens import TokenClaims


async def held_grants(session: AsyncSession, consumer: str,
                      entry_code: str) -> list[dict[str, object]]:
    """The snapshots of every grant `consumer` holds for the entry (read model)."""
    return list(await session.scalars(select(GrantView.snapshot).where(
        GrantView.consumer == consumer, GrantView.entry_code == entry_code)))


async def decision_for(session: AsyncSession, query: AccessQuery) -> AccessDecision:
    """The grant decision for `query`, from the read model of grants."""
    held = await held_grants(session, query.consumer, query.entry_code)
    return decide([GrantSnapshot.model_validate(g) for g in held], query, clock.now())


class Gate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], node: str) -> None:
        self.sessions = sessions
        self.node = node
        self._limiters: dict[int, RateLimiter] = {}

    async def admit(self, session: AsyncSession, principal: TokenClaims, resource: Resource,
                    *, kind: AccessKind, purpose: PermittedUse, method: ShareMethod,
                    items: Sequence[str]) -> AccessDecision:
        """The decision allowing this access, or AccessDenied / GrantRateExceeded."""
        held = await held_grants(session, principal.department or "", resource.code)
        return await self.check(held, principal, resource.code, resource.provider,
                                kind=kind, purpose=purpose, method=method, items=items)

    async def check(self, held: Sequence[dict[str, object]], principal: TokenClaims,
                    entry_code: str, provider: str, *, kind: AccessKind, purpose: PermittedUse,
                    method: ShareMethod, items: Sequence[str],
                    subject_key: str | None = None) -> AccessDecision:
        """Decide over the grant snapshots the consumer holds for the entry; a refusal of a
        query is audited with whose record it asked for (`subject_key`)."""
        consumer = principal.department or ""
        decision = decide([GrantSnapshot.model_validate(g) for g in held], AccessQuery(
            consumer=consumer, entry_code=entry_code, purpose=purpose, method=method,
            items=frozenset(items)), clock.now())
        if not decision.allowed:
            assert decision.denial is not None
            await audit.record_now(self.sessions, audit.Access(
                kind=kind, consumer=consumer, provider=provider,
                entry_code=entry_code, grant_id=decision.grant.id if decision.grant else None,
                purpose=purpose, items=items, record_count=0, denied=decision.denial,
                subject_key=subject_key, route=audit.route_of(principal)),
                actor=principal.sub, node=self.node)
            raise AccessDenied(decision.detail, denial=decision.denial)
        self._check_rate(decision)
        return decision

    def _check_rate(self, decision: AccessDecision) -> None:
        grant = decision.grant
        if grant is None or not grant.rate_limit_per_minute:
            return
        per_minute = grant.rate_limit_per_minute
        limiter = self._limiters.setdefault(per_minute, RateLimiter(per_minute / 60, per_minute))
        wait = limiter.acquire(str(grant.id))
        if wait:
            raise GrantRateExceeded(
                f"The grant allows {per_minute} accesses a minute.", grant_id=str(grant.id),
                headers={"Retry-After": retry_after_header(wait)})
