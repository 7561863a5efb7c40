"""Reports travel upwards (F7): a node hands its yearly report and its quarters' figures to
its parent node, which keeps each child's submission, notes when it arrived and whether it
was on time, and rolls up the figures of its subtree.

The yearly report goes as its file, signed by the node inside (issue 20), with the figures
the parent adds up; a quarter's as its figures alone. Over both the child's node key signs
a statement (`shared.contracts.submissions`), which the parent checks with the child's
published keys before it keeps anything. The report is due by the end of January of the
following year from a provincial or municipal node [JS §19], of February from the national
level [51 §18]: the parent judges by the tier the child linked with, on its own clock, not
by any date the child states.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import report, report_signature
from services.evaluation.exceptions import NoParentNode, ParentRefused, SubmissionRefused
from services.evaluation.method import current_method, default_method
from services.evaluation.models import ReportSubmission
from services.evaluation.periods import Period
from services.evaluation.render_ofd import to_ofd
from services.evaluation.render_pdf import to_pdf
from services.evaluation.report_signature import ReportSigner
from services.evaluation.scoring import report_due_on
from shared.contracts import Tier
from shared.contracts.reports import ReportFileFormat
from shared.contracts.submissions import (
    SUBMISSION_TYPE,
    Figures,
    Submission,
    SubmissionKind,
    SubmissionSignature,
    SubmissionStatement,
)
from shared.linked_nodes import LinkedNodeDirectory, NodeTokens
from shared.tokens import KeySet, StatementInvalid, verify_statement
from shared.workdays import china_date

SUBMISSIONS_PATH = "/federation/evaluation/report-submissions"
RENDERERS = {ReportFileFormat.pdf: to_pdf, ReportFileFormat.ofd: to_ofd}


class Receipt(BaseModel):
    """A submission as the parent holds it."""

    id: str
    child: str = Field(description="The node that submitted it.")
    period: str
    kind: SubmissionKind
    figures: Figures
    file_format: ReportFileFormat | None
    file_digest: str | None = Field(description="SHA-256 of the whole signed file.")
    signature: str = Field(description="The child's signed statement of the submission.")
    submitted_at: datetime = Field(description="When the child made it (its word).")
    received_at: datetime = Field(description="When it arrived here (this node's clock).")
    due_on: date | None = Field(description="When it was due: a yearly report only.")
    on_time: bool | None = Field(description="Arrived by the end of its due day (China "
                                             "time); none for a quarter's figures.")

    @classmethod
    def of(cls, row: ReportSubmission) -> Receipt:
        return cls(id=str(row.id), child=row.child, period=row.period,
                   kind=SubmissionKind(row.kind), figures=Figures.model_validate(row.figures),
                   file_format=ReportFileFormat(row.file_format) if row.file_format else None,
                   file_digest=row.file_digest, signature=row.signature,
                   submitted_at=row.submitted_at, received_at=row.received_at,
                   due_on=row.due_on, on_time=row.on_time)


async def figures_of(session: AsyncSession, period: Period, *, now: datetime) -> Figures:
    """This node's figures for the period, scored by the method in force."""
    _, method = await current_method(session)
    counts, ranking = await report.evaluate(session, period, method, now=now)
    return Figures(
        departments=len(ranking),
        mean_score=round(sum(item.score for item in ranking) / len(ranking), 2)
        if ranking else None,
        requests_due=sum(item.requests_due for item in counts),
        requests_answered_on_time=sum(item.requests_answered_on_time for item in counts),
        objections_raised=sum(item.objections_raised for item in counts),
        accesses=sum(item.accesses_made for item in counts))


def kind_of(period: Period) -> SubmissionKind:
    return SubmissionKind.yearly if len(period.label) == 4 else SubmissionKind.quarterly


# --- the child: hand it up ------------------------------------------------------------------


@dataclass(frozen=True)
class Submitter:
    http: httpx.AsyncClient
    nodes: LinkedNodeDirectory
    tokens: NodeTokens
    identity_url: str
    report_signer: ReportSigner

    async def submit(self, session: AsyncSession, period: Period, *, now: datetime,
                     file_format: ReportFileFormat) -> Receipt:
        """Make, sign and send the period's submission; the parent's receipt."""
        parent = await self.nodes.parent()
        if parent is None:
            raise NoParentNode("This node has no parent to submit its report to.")
        figures = await figures_of(session, period, now=now)
        kind, file = kind_of(period), None
        if kind == SubmissionKind.yearly:
            file = await self._signed_file(session, period, file_format, now)
        statement = SubmissionStatement(
            period=period.label, kind=kind, figures_digest=figures.digest(),
            file_format=file_format if file else None,
            file_digest=report_signature.file_digest(file) if file else None,
            submitted_at=now)
        submission = Submission(statement=statement, signature=await self._sign(statement),
                                figures=figures,
                                file=base64.b64encode(file).decode() if file else None)
        token = await self.tokens.for_node(parent["node_id"])
        try:
            response = await self.http.post(
                parent["gateway_url"] + SUBMISSIONS_PATH, json=submission.model_dump(
                    mode="json"), headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise ParentRefused(f"The parent {parent['node_id']} did not answer: "
                                f"{type(error).__name__}.", parent=parent["node_id"]) from None
        if response.status_code != 201:
            raise ParentRefused(f"The parent {parent['node_id']} answered "
                                f"{response.status_code}: {_detail(response)}",
                                parent=parent["node_id"])
        return Receipt.model_validate(response.json())

    async def _signed_file(self, session: AsyncSession, period: Period,
                           file_format: ReportFileFormat, now: datetime) -> bytes:
        """The yearly report's file, signed by the node inside (issue 20)."""
        built = await report.build(session, period.first_day.year, now=now)
        render = RENDERERS[file_format]
        unsigned = await asyncio.to_thread(
            lambda: report_signature.prepare(render(built), file_format))
        return await report_signature.sign(unsigned, year=built.year, tier=built.tier,
                                           signed_at=now, signer=self.report_signer)

    async def _sign(self, statement: SubmissionStatement) -> str:
        response = await self.http.post(f"{self.identity_url}/internal/submission-signatures",
                                        json=statement.model_dump(mode="json"))
        response.raise_for_status()
        return SubmissionSignature.model_validate(response.json()).signature


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return response.text[:300]


# --- the parent: check it, keep it, judge it --------------------------------------------------


async def receive(session: AsyncSession, submission: Submission, *, child: str,
                  child_tier: Tier, keys: KeySet, now: datetime) -> ReportSubmission:
    """Keep a child's submission once its signature and digests hold, with when it arrived
    and whether that was on time."""
    statement = await _stated(submission, child, keys)
    file = _file(submission, statement)
    period = Period.parse(statement.period)
    due_on = (report_due_on(period.first_day.year, default_method(child_tier))
              if statement.kind == SubmissionKind.yearly else None)
    row = ReportSubmission(
        child=child, child_tier=child_tier, period=statement.period, kind=statement.kind,
        figures=submission.figures.model_dump(mode="json"), file_format=statement.file_format,
        file=file, file_digest=statement.file_digest, signature=submission.signature,
        submitted_at=statement.submitted_at, received_at=now, due_on=due_on,
        on_time=china_date(now) <= due_on if due_on else None)
    session.add(row)
    await session.flush()
    return row


async def _stated(submission: Submission, child: str, keys: KeySet) -> SubmissionStatement:
    """The statement the child signed, which must be the one sent, over these figures."""
    try:
        claims = await verify_statement(submission.signature, keys, SUBMISSION_TYPE)
        stated = SubmissionStatement.model_validate(
            {key: value for key, value in claims.items() if key != "iss"})
    except (StatementInvalid, ValidationError) as error:
        raise SubmissionRefused(f"The submission's signature does not hold: {error}",
                                reason="signature_invalid") from None
    if claims.get("iss") != child or stated != submission.statement:
        raise SubmissionRefused("The signed statement is not the one sent, or not the "
                                "sender's.", reason="statement_mismatch")
    if submission.figures.digest() != stated.figures_digest:
        raise SubmissionRefused("The figures are not the ones signed.",
                                reason="figures_mismatch")
    if (stated.kind == SubmissionKind.yearly) != (len(stated.period) == 4):
        raise SubmissionRefused("A yearly report covers a year, a quarter's figures a "
                                "quarter.", reason="period_mismatch")
    return stated


def _file(submission: Submission, statement: SubmissionStatement) -> bytes | None:
    """The yearly report's file, as signed; a quarter's figures come without one."""
    if statement.kind == SubmissionKind.quarterly:
        if submission.file is not None or statement.file_digest is not None:
            raise SubmissionRefused("A quarter's figures come without a file.",
                                    reason="file_unexpected")
        return None
    try:
        file = base64.b64decode(submission.file or "", validate=True)
    except binascii.Error:
        file = b""
    if not file or hashlib.sha256(file).hexdigest() != statement.file_digest:
        raise SubmissionRefused("The yearly report's file is missing or not the one signed.",
                                reason="file_mismatch")
    return file


async def latest_of_children(session: AsyncSession, period: str) -> list[ReportSubmission]:
    """Each child's latest submission for the period (a later one corrects an earlier)."""
    return list(await session.scalars(
        select(ReportSubmission).where(ReportSubmission.period == period)
        .distinct(ReportSubmission.child)
        .order_by(ReportSubmission.child, ReportSubmission.received_at.desc())))


def total(parts: list[Figures]) -> Figures:
    """The figures of several nodes together: counts added, the mean score weighted by
    departments."""
    scored = [part for part in parts if part.mean_score is not None]
    weight = sum(part.departments for part in scored)
    sums: dict[str, Any] = {name: sum(getattr(part, name) for part in parts) for name in (
        "departments", "requests_due", "requests_answered_on_time", "objections_raised",
        "accesses")}
    return Figures(**sums, mean_score=round(sum(
        part.mean_score * part.departments for part in scored  # type: ignore[operator]
    ) / weight, 2) if weight else None)
