"""Objections API (E6): a consumer flags a record; the provider verifies, corrects or
confirms it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from services.exchange import objections
from services.exchange.deps import Operator, OutboxDep, SessionDep
from services.exchange.exceptions import AccessDenied
from services.exchange.models import Objection, UsefulnessReport
from services.exchange.query import published_resource
from services.exchange.schemas import (
    ObjectionCreate,
    ObjectionPublic,
    ObjectionResolve,
    UsefulnessCreate,
    UsefulnessPublic,
)
from shared.contracts.exchange import ObjectionStatus
from shared.pagination import Page, PageDep, fetch_page

router = APIRouter(prefix="/objections", tags=["objections"])
feedback_router = APIRouter(prefix="/usefulness", tags=["objections"])


@router.post("", response_model=ObjectionPublic, status_code=status.HTTP_201_CREATED,
             summary="Flag a record as doubtful or wrong (consumer with a grant)")
async def raise_objection(body: ObjectionCreate, principal: Operator, session: SessionDep,
                          outbox: OutboxDep) -> Objection:
    resource = await published_resource(session, body.entry_code)
    return await objections.raise_objection(
        session, outbox, resource, consumer=principal.department or "", key_values=body.key,
        kind=body.kind, description=body.description, evidence=body.evidence,
        actor=principal.sub)


@router.get("", response_model=Page[ObjectionPublic],
            summary="Objections my department raised or must answer")
async def list_objections(
    principal: Operator, session: SessionDep, page: PageDep,
    status: Annotated[list[ObjectionStatus], Query()] = [],  # noqa: B006
    entry_code: Annotated[str | None, Query(max_length=30)] = None,
) -> dict[str, object]:
    items, total = await objections.list_objections(
        session, page, party=principal.department or "", status=status, entry_code=entry_code)
    return page.wrap(items, total)


@router.get("/{objection_id}", response_model=ObjectionPublic, summary="One objection")
async def get_objection(objection_id: uuid.UUID, principal: Operator,
                        session: SessionDep) -> Objection:
    return await objections.get(session, objection_id, principal.department)


@router.post("/{objection_id}/verification", response_model=ObjectionPublic,
             summary="Start verifying (provider)")
async def start_verifying(objection_id: uuid.UUID, principal: Operator, session: SessionDep,
                          outbox: OutboxDep) -> Objection:
    objection = await objections.get(session, objection_id, principal.department,
                                     for_update=True)
    return await objections.start_verifying(session, outbox, objection,
                                            provider=principal.department, actor=principal.sub)


@router.post("/{objection_id}/resolution", response_model=ObjectionPublic,
             summary="Correct the record or confirm it (provider)")
async def resolve_objection(objection_id: uuid.UUID, body: ObjectionResolve,
                            principal: Operator, session: SessionDep,
                            outbox: OutboxDep) -> Objection:
    objection = await objections.get(session, objection_id, principal.department,
                                     for_update=True)
    return await objections.resolve(
        session, outbox, objection, provider=principal.department, actor=principal.sub,
        corrected=body.outcome == "corrected", resolution=body.resolution,
        correction=body.correction)


@feedback_router.post("", response_model=UsefulnessPublic, status_code=status.HTTP_201_CREATED,
                      summary="Report how useful an entry's data was (consumer with a grant)")
async def report_usefulness(body: UsefulnessCreate, principal: Operator,
                            session: SessionDep) -> UsefulnessReport:
    resource = await published_resource(session, body.entry_code)
    consumer = principal.department or ""
    if not await objections.holds_grant(session, consumer, resource.code):
        raise AccessDenied("Only a consumer with an active grant reports on the data.",
                           denial="no_grant")
    report = UsefulnessReport(entry_code=resource.code, consumer=consumer,
                              provider=resource.provider, rating=body.rating,
                              comment=body.comment, reported_by=principal.sub)
    session.add(report)
    await session.flush()
    await session.refresh(report, ["reported_at"])
    return report


@feedback_router.get("", response_model=Page[UsefulnessPublic],
                     summary="Reports on my department's data, or that it made")
async def list_usefulness(principal: Operator, session: SessionDep, page: PageDep,
                          entry_code: Annotated[str | None, Query(max_length=30)] = None,
                          ) -> dict[str, object]:
    party = principal.department or ""
    query = select(UsefulnessReport).where((UsefulnessReport.provider == party)
                                           | (UsefulnessReport.consumer == party))
    if entry_code:
        query = query.where(UsefulnessReport.entry_code == entry_code)
    items, total = await fetch_page(session, query.order_by(
        UsefulnessReport.reported_at.desc()), page)
    return page.wrap(items, total)
