"""The yearly report (V2) as JSON, HTML or PDF."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from services.evaluation import report
from services.evaluation.deps import CurrentPrincipal, SessionDep, YearDep
from services.evaluation.render_html import to_html
from services.evaluation.render_pdf import to_pdf
from services.evaluation.report import ReportFormat, YearReport

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/{year}", response_model=YearReport, responses={
    200: {"content": {"text/html": {}, "application/pdf": {}},
          "description": "The report; `format` chooses JSON, HTML or PDF."}})
async def yearly_report(session: SessionDep, principal: CurrentPrincipal, year: YearDep,
                        format: ReportFormat = ReportFormat.json) -> Response:
    """The yearly sharing evaluation report of this node's departments, as of now for the
    running year. Due by the end of February nationally, of January in Jiangsu."""
    built = await report.build(session, year.first_day.year)
    # Rendering is CPU work; a thread keeps the service answering meanwhile.
    if format == ReportFormat.html:
        return Response(await asyncio.to_thread(to_html, built),
                        media_type="text/html; charset=utf-8")
    if format == ReportFormat.pdf:
        return Response(await asyncio.to_thread(to_pdf, built), media_type="application/pdf",
                        headers={"Content-Disposition":
                                 f'attachment; filename="evaluation-{built.year}.pdf"'})
    return Response(built.model_dump_json(), media_type="application/json")
