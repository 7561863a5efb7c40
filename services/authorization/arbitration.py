"""Who settles a dispute the two departments could not (A3) [51 §12, JS §16].

A dispute goes to the coordinating body (联席会议 centrally, 领导小组 in a province) when a
national or provincial department is a party, and to the tier's competent authority (本级政务
信息资源共享主管部门) otherwise. Which departments act for each body is the node admin's
designation (`ArbitrationSeat`); an arbiter speaks for the body through their department, so
only an arbiter of a department seated for the body the case went to decides it, and never
one of a party's own departments.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import directory
from services.authorization.exceptions import ArbitrationSeatNotFound, NotTheArbiter
from services.authorization.models import ArbitrationSeat, Department, ShareRequest
from shared.contracts import Tier
from shared.contracts.sharing import Arbiter
from shared.pagination import PageParams, fetch_page

# 涉及中央有关部门的由联席会议协调解决 [51 §12]; 涉及省级部门的由省领导小组协调 [JS §16].
COORDINATED_TIERS = frozenset({Tier.national, Tier.provincial})


async def route(session: AsyncSession, consumer: str, provider: str) -> Arbiter:
    """The body a dispute between these departments goes to."""
    tiers = set(await session.scalars(select(Department.tier).where(
        Department.credit_code.in_([consumer, provider]))))
    return (Arbiter.coordinating_body if tiers & COORDINATED_TIERS
            else Arbiter.competent_authority)


async def require_arbiter_of(session: AsyncSession, request: ShareRequest,
                             department: str | None) -> Arbiter:
    """The body an escalated request went to, if the arbiter's department may speak for
    it on this case; NotTheArbiter otherwise."""
    body = Arbiter(request.escalation["arbiter"]) if request.escalation else None
    if department in (request.consumer, request.provider):
        raise NotTheArbiter("An arbiter from a party's department cannot decide its dispute "
                            "[51 §12].", reason="arbiter_is_party")
    if body is None or department is None or not await session.scalar(select(exists().where(
            ArbitrationSeat.body == body, ArbitrationSeat.department == department))):
        raise NotTheArbiter(f"The dispute went to the {body}; only arbiters of a department "
                            "seated for it may act on it.", reason="not_of_routed_body",
                            arbiter=body)
    return body


async def seat(session: AsyncSession, body: Arbiter, department: str, *,
               actor: str) -> ArbitrationSeat:
    """Designate a registered department to act for `body` (kept if it already does)."""
    registered = await directory.get_department(session, department)
    held = await session.get(ArbitrationSeat, (body, registered.credit_code))
    if held is None:
        held = ArbitrationSeat(body=body, department=registered.credit_code,
                               designated_by=actor)
        session.add(held)
        await session.flush()
    return held


async def unseat(session: AsyncSession, body: Arbiter, department: str) -> ArbitrationSeat:
    """End a department's designation; its arbiters decide no more disputes of `body`."""
    held = await session.get(ArbitrationSeat, (body, department), with_for_update=True)
    if held is None:
        raise ArbitrationSeatNotFound(f"Department {department} does not sit for the {body}.")
    await session.delete(held)
    await session.flush()
    return held


async def seats(session: AsyncSession, page: PageParams,
                body: Arbiter) -> tuple[list[ArbitrationSeat], int]:
    query = select(ArbitrationSeat).where(ArbitrationSeat.body == body)
    return await fetch_page(session, query.order_by(ArbitrationSeat.department), page)
