"""Arbitration bodies API (A3): which departments sit for the competent authority and the
coordinating body of this node (node admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.authorization import arbitration
from services.authorization.deps import SessionDep
from services.authorization.models import ArbitrationSeat
from services.authorization.schemas import ArbitrationSeatPublic
from shared.auth import CurrentPrincipal, require_role
from shared.contracts import Role
from shared.contracts.sharing import Arbiter
from shared.identifiers import CreditCode
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/arbitration-bodies/{body}/departments", tags=["arbitration"],
                   dependencies=[Depends(require_role(Role.node_admin))])


@router.get("", response_model=Page[ArbitrationSeatPublic],
            summary="Departments that sit for an arbitration body")
async def list_seats(body: Arbiter, session: SessionDep, page: PageDep) -> dict[str, object]:
    items, total = await arbitration.seats(session, page, body)
    return page.wrap(items, total)


@router.put("/{credit_code}", response_model=ArbitrationSeatPublic,
            summary="Seat a department for the body: its arbiters decide the disputes sent there")
async def seat_department(body: Arbiter, credit_code: CreditCode, principal: CurrentPrincipal,
                          session: SessionDep) -> ArbitrationSeat:
    return await arbitration.seat(session, body, credit_code, actor=principal.sub)


@router.delete("/{credit_code}", response_model=ArbitrationSeatPublic,
               summary="End a department's seat on the body")
async def unseat_department(body: Arbiter, credit_code: CreditCode,
                            session: SessionDep) -> ArbitrationSeat:
    return await arbitration.unseat(session, body, credit_code)
