"""Audit anchoring over HTTP (E5, G2): a linked child's heads come in at
`/federation/audit-anchors` (the gateway's `/federation/exchange/audit-anchors`, node token
checked against the child's published keys); the parent's auditors see the conflicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from services.exchange import anchored_heads
from services.exchange.deps import Overseer, SessionDep
from services.exchange.exceptions import IdentityUnavailable
from services.exchange.models import AnchorConflict
from services.exchange.schemas import AnchorConflictPublic
from shared.auth import parse_bearer
from shared.contracts.anchoring import MAX_POSITION, AnchoredHeads, HeadsToAnchor
from shared.pagination import Page, PageDep, fetch_page

federation_router = APIRouter(prefix="/federation", tags=["federation"])
router = APIRouter(prefix="/audit", tags=["audit"])


@asynccontextmanager
async def _identity_answers() -> AsyncIterator[None]:
    """The identity service knows the linked nodes and signs: without it, 503."""
    try:
        yield
    except httpx.HTTPError as error:
        raise IdentityUnavailable(f"{type(error).__name__} from the identity service; "
                                  "send the heads again later.") from error


async def _child(request: Request) -> str:
    state = request.app.state
    token = parse_bearer(request.headers.get("authorization", ""))
    async with _identity_answers():
        return await anchored_heads.calling_child(state.node_tokens, state.linked_nodes,
                                                  token)


@federation_router.post("/audit-anchors", response_model=AnchoredHeads,
                        summary="A child node's sealed audit heads, kept and countersigned")
async def anchor_heads(body: HeadsToAnchor, request: Request) -> AnchoredHeads:
    """Kept here with this node's countersignature; a position already held with another
    hash is refused (409 audit-head-rewritten) and kept as a conflict."""
    child = await _child(request)
    state = request.app.state
    async with _identity_answers():
        heads = await anchored_heads.anchor(state.runtime.sessions, state.countersigner,
                                            child, body.heads)
    return AnchoredHeads(heads=heads)


@federation_router.get("/audit-anchors", response_model=AnchoredHeads,
                       summary="The calling child's audit heads held here, in chain order")
async def heads_of_caller(
    request: Request, session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                description="Heads after this chain position.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> AnchoredHeads:
    child = await _child(request)
    heads, next_after = await anchored_heads.heads_of(session, child, after=after, limit=limit)
    return AnchoredHeads(heads=heads, next_after=next_after)


@router.get("/anchor-conflicts", response_model=Page[AnchorConflictPublic],
            summary="Heads a child node offered with another hash than the one anchored here")
async def anchor_conflicts(principal: Overseer, session: SessionDep,
                           page: PageDep) -> dict[str, object]:
    """Each is a child's audit chain rewritten after its head was anchored here (E5)."""
    rows, total = await fetch_page(session, select(AnchorConflict).order_by(
        AnchorConflict.id.desc()), page)
    return page.wrap(rows, total)
