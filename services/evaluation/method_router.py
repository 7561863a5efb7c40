"""The scoring method (V2, configurable per tier) and the model's rebuild from events."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from services.evaluation import history
from services.evaluation.deps import Admin, CurrentPrincipal, SessionDep, SettingsDep
from services.evaluation.exceptions import HistoryIncomplete, RebuildUnavailable
from services.evaluation.method import ScoringMethod, current_method, default_method, set_method
from services.evaluation.models import FACT_TABLES
from shared.consumer import HistoryShorterThanModel
from shared.contracts import Tier
from shared.messaging_tables import processed_event

router = APIRouter(tags=["method"])


class MethodInForce(BaseModel):
    version: int | None = Field(description="Version set by the competent authority; empty "
                                            "while the tier's default applies.")
    method: ScoringMethod


class ModelState(BaseModel):
    events_applied: int = Field(description="Events the model holds the effect of.")
    facts: dict[str, int] = Field(description="Rows per fact table.")
    history_gaps: list[datetime] = Field(description=(
        "When the broker was found holding a newer log than the facts came from; a rebuild "
        "needs force=true while any is listed."))


class RebuildStarted(BaseModel):
    events_forgotten: int = Field(description="Events applied before; the replay applies "
                                              "them again. Watch GET /model.")


@router.get("/scoring-method", response_model=MethodInForce)
async def method_in_force(session: SessionDep, principal: CurrentPrincipal) -> MethodInForce:
    version, method = await current_method(session)
    return MethodInForce(version=version, method=method)


@router.get("/scoring-method/defaults/{tier}", response_model=ScoringMethod)
async def tier_default(tier: Tier, principal: CurrentPrincipal) -> ScoringMethod:
    """The documented default of a tier, drawn from 51 §18/§21/§24 and JS §19/§25."""
    return default_method(tier)


@router.put("/scoring-method", response_model=MethodInForce)
async def replace_method(method: ScoringMethod, session: SessionDep,
                         principal: Admin) -> MethodInForce:
    """Set the node's scoring method; scores, rankings and reports use it from now on."""
    version = await set_method(session, method, actor=principal.sub)
    return MethodInForce(version=version, method=method)


@router.get("/model", response_model=ModelState)
async def model_state(session: SessionDep, principal: CurrentPrincipal,
                      request: Request) -> ModelState:
    """How much of the event history the facts hold; watch it during a rebuild."""
    applied = await session.scalar(select(func.count()).select_from(processed_event).where(
        processed_event.c.consumer == request.app.state.runtime.name))
    facts = {table.__tablename__: int(await session.scalar(
        select(func.count()).select_from(table)) or 0) for table in FACT_TABLES}
    return ModelState(events_applied=int(applied or 0), facts=facts,
                      history_gaps=await history.gaps(session))


@router.post("/model/rebuild", status_code=status.HTTP_202_ACCEPTED,
             response_model=RebuildStarted)
async def rebuild(principal: Admin, request: Request, session: SessionDep,
                  settings: SettingsDep, force: Annotated[bool, Query(description=(
                      "Rebuild from what the broker holds even when it lacks part of the "
                      "history the facts came from."))] = False) -> RebuildStarted:
    """Clear the facts and consume the event history again from the broker's first record;
    the numbers come out the same. Refused (409) when the broker no longer holds the whole
    history (retention, or a broker that restarted empty), unless `force`. Run it with one
    replica of the service."""
    found = await history.gaps(session)
    if found and not force:
        raise HistoryIncomplete(
            f"Not rebuilt: the broker's log is newer than the facts (since {found[-1]}); it "
            "holds only what producers republished. Use force=true to rebuild from it anyway.")
    consumer = request.app.state.runtime.consumer
    try:
        forgotten = await asyncio.wait_for(consumer.replay(history.clear_facts, force=force),
                                           settings.rebuild_wait_seconds)
    except TimeoutError as error:
        raise RebuildUnavailable("The event consumer did not take the rebuild; is the "
                                 "broker reachable?") from error
    except HistoryShorterThanModel as error:
        raise HistoryIncomplete(f"Not rebuilt: {error}. Use force=true to rebuild from what "
                                "the broker still holds.") from error
    return RebuildStarted(events_forgotten=forgotten)
