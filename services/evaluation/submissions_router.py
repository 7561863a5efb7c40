"""Reports travel upwards (F7): a node submits to its parent; the parent keeps, shows and
rolls up what its children submitted.

`POST /federation/report-submissions` is reached through the gateway's
`/federation/evaluation/report-submissions`, which a linked child calls with its node token
(checked here against the child's published keys).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.evaluation import submissions
from services.evaluation.deps import Admin, Overseer, PeriodDep, SessionDep
from services.evaluation.exceptions import SubmissionNotFound, SubmissionRefused
from services.evaluation.models import ReportSubmission
from services.evaluation.periods import Period
from services.evaluation.submissions import Receipt
from shared import clock
from shared.auth import parse_bearer
from shared.contracts import NodeRelation, Tier
from shared.contracts.reports import ReportFileFormat
from shared.contracts.submissions import PERIOD, Figures, Submission
from shared.pagination import Page, PageDep, fetch_page
from shared.runtime import jwks_from_url
from shared.tokens import KeySet

router = APIRouter(prefix="/report-submissions", tags=["report submissions"])
federation_router = APIRouter(prefix="/federation", tags=["federation"])

MEDIA_TYPES = {ReportFileFormat.pdf: "application/pdf", ReportFileFormat.ofd: "application/ofd"}


class SubmissionCreate(BaseModel):
    period: str = Field(pattern=PERIOD, examples=["2026", "2026-Q3"], description=(
        "A year: the yearly report, as its signed file with its figures; a quarter: its "
        "figures."))
    file_format: ReportFileFormat = Field(ReportFileFormat.pdf,
                                          description="The yearly report's file.")


class ChildFigures(BaseModel):
    node: str
    submitted_at: datetime
    received_at: datetime
    on_time: bool | None
    figures: Figures


class Rollup(BaseModel):
    period: str
    own: Figures = Field(description="This node's figures, as of now.")
    children: list[ChildFigures] = Field(description="Each child's latest submission.")
    missing: list[str] = Field(description="Linked children that submitted nothing for it.")
    total: Figures = Field(description="This node and its children together.")


@router.post("", response_model=Receipt, status_code=status.HTTP_201_CREATED,
             summary="Submit this node's yearly report or a quarter's figures to its parent")
async def submit(body: SubmissionCreate, request: Request, session: SessionDep,
                 principal: Admin) -> Receipt:
    """Signed by this node and handed to the parent node's gateway (F7); the answer is the
    parent's receipt: when it arrived there and whether it was on time."""
    period = Period.parse(body.period)
    if period.start > clock.now():
        raise SubmissionRefused(f"The period {body.period} has not begun.",
                                reason="period_not_begun")
    return await request.app.state.submitter.submit(session, period, now=clock.now(),
                                                    file_format=body.file_format)


@router.get("", response_model=Page[Receipt],
            summary="What the child nodes submitted, newest first")
async def list_submissions(session: SessionDep, principal: Overseer, page: PageDep,
                           child: Annotated[str | None, Query(
                               pattern=r"^[0-9]{6}-(internal|external)$")] = None,
                           period: Annotated[str | None, Query(pattern=PERIOD)] = None,
                           ) -> dict[str, object]:
    query = select(ReportSubmission).order_by(ReportSubmission.received_at.desc())
    if child:
        query = query.where(ReportSubmission.child == child)
    if period:
        query = query.where(ReportSubmission.period == period)
    rows, total = await fetch_page(session, query, page)
    return page.wrap([Receipt.of(row) for row in rows], total)


@router.get("/rollup", response_model=Rollup,
            summary="This node's figures with its children's for a period")
async def rollup(request: Request, session: SessionDep, principal: Overseer,
                 period: PeriodDep) -> Rollup:
    """The figures of this node's subtree (the province's, at a provincial node): its own,
    as of now, and each child's latest submission for the period; children that submitted
    nothing are named."""
    own = await submissions.figures_of(session, period, now=clock.now())
    latest = await submissions.latest_of_children(session, period.label)
    children = [node["node_id"] for node in await request.app.state.linked_nodes.all()
                if node["relation"] == NodeRelation.child]
    parts = [ChildFigures(node=row.child, submitted_at=row.submitted_at,
                          received_at=row.received_at, on_time=row.on_time,
                          figures=Figures.model_validate(row.figures)) for row in latest]
    return Rollup(period=period.label, own=own, children=parts,
                  missing=sorted(set(children) - {row.child for row in latest}),
                  total=submissions.total([own, *(part.figures for part in parts)]))


@router.get("/{submission_id}/file", response_class=Response,
            summary="The yearly report's file as the child signed it",
            responses={200: {"content": {"application/pdf": {}, "application/ofd": {}},
                             "description": "The file, signed by its node inside "
                                            "(`govshare report verify FILE`)."}})
async def submission_file(submission_id: uuid.UUID, session: SessionDep,
                          principal: Overseer) -> Response:
    row = await session.get(ReportSubmission, submission_id)
    if row is None or row.file is None or row.file_format is None:
        raise SubmissionNotFound(f"No submitted report file {submission_id}.")
    file_format = ReportFileFormat(row.file_format)
    return Response(row.file, media_type=MEDIA_TYPES[file_format], headers={
        "Content-Disposition": f'attachment; filename="evaluation-{row.period}-'
                               f'{row.child}.{file_format.value}"'})


@federation_router.post("/report-submissions", response_model=Receipt,
                        status_code=status.HTTP_201_CREATED)
async def receive_submission(body: Submission, request: Request,
                             session: SessionDep) -> Receipt:
    """A linked child's yearly report or quarter's figures (F7), kept once its node's
    signature holds; judged on time by this node's clock."""
    state = request.app.state
    nodes = state.linked_nodes

    async def jwks_of_child(node_id: str) -> str | None:
        node = await nodes.get(node_id)
        return str(node["jwks_url"]) if node and node["relation"] == NodeRelation.child \
            else None

    claims = await state.node_tokens.verify(
        parse_bearer(request.headers.get("authorization", "")), jwks_of_child)
    child = await nodes.get(claims.iss)
    keys = state.child_keys.setdefault(child["jwks_url"], KeySet(jwks_from_url(
        child["jwks_url"])))
    return Receipt.of(await submissions.receive(
        session, body, child=claims.iss, child_tier=Tier(child["tier"]), keys=keys,
        now=clock.now()))
