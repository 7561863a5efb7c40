"""Quality API (E7): freshness against the declared update cycle; cross-checks of an item
held by two sources."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from services.exchange import freshness
from services.exchange.deps import OutboxDep, Overseer, SessionDep, oversees
from services.exchange.models import CrossCheck
from services.exchange.query import published_resource
from services.exchange.schemas import (
    CrossCheckCreate,
    CrossCheckPublic,
    FreshnessPublic,
    FreshnessState,
)
from shared import clock
from shared.auth import CurrentPrincipal
from shared.pagination import Page, PageDep, fetch_page

router = APIRouter(tags=["quality"])


@router.get("/freshness", response_model=list[FreshnessPublic],
            summary="Each entry's last update against its cycle (a department: its own)")
async def survey_freshness(
    principal: CurrentPrincipal, session: SessionDep,
    state: Annotated[FreshnessState | None, Query()] = None,
) -> list[FreshnessPublic]:
    provider = None if oversees(principal) else (principal.department or "")
    found = await freshness.survey(session, clock.now(), provider=provider, state=state)
    return [FreshnessPublic(**asdict(f)) for f in found]


@router.post("/cross-checks", response_model=CrossCheckPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Compare an item held by two entries for the same subjects (多元校核)")
async def run_cross_check(body: CrossCheckCreate, principal: Overseer,
                          session: SessionDep, outbox: OutboxDep) -> CrossCheck:
    left = await published_resource(session, body.left_entry)
    right = await published_resource(session, body.right_entry)
    return await freshness.cross_check(session, outbox, left=left, left_item=body.left_item,
                                       right=right, right_item=body.right_item,
                                       actor=principal.sub)


@router.get("/cross-checks", response_model=Page[CrossCheckPublic],
            summary="Cross-checks run so far, newest first")
async def list_cross_checks(principal: Overseer, session: SessionDep,
                            page: PageDep) -> dict[str, object]:
    items, total = await fetch_page(session, select(CrossCheck).order_by(
        CrossCheck.run_at.desc()), page)
    return page.wrap(items, total)
