"""The yearly report (V2) as JSON, HTML, PDF/A or OFD; the files signed by the node."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from services.evaluation import report, report_signature
from services.evaluation.deps import CurrentPrincipal, SessionDep, YearDep
from services.evaluation.render_html import to_html
from services.evaluation.render_ofd import to_ofd
from services.evaluation.render_pdf import to_pdf
from services.evaluation.report import ReportFormat, YearReport
from shared import clock
from shared.contracts.reports import ReportFileFormat

router = APIRouter(prefix="/reports", tags=["reports"])

FILES: dict[ReportFormat, tuple[Callable[[YearReport], bytes], str]] = {
    ReportFormat.pdf: (to_pdf, "application/pdf"),
    ReportFormat.ofd: (to_ofd, "application/ofd"),
}


@router.get("/{year}", response_model=YearReport, responses={
    200: {"content": {"text/html": {}, "application/pdf": {}, "application/ofd": {}},
          "description": "The report; `format` chooses JSON, HTML, PDF/A-2b or OFD. A PDF "
                         "or OFD carries the node's signature (`govshare report verify "
                         "FILE`); `Repr-Digest` is the SHA-256 of the whole file."}})
async def yearly_report(request: Request, session: SessionDep, principal: CurrentPrincipal,
                        year: YearDep, format: ReportFormat = ReportFormat.json) -> Response:
    """The yearly sharing evaluation report of this node's departments, as of now for the
    running year. Due by the end of February nationally, of January in Jiangsu."""
    built = await report.build(session, year.first_day.year)
    # Rendering is CPU work; a thread keeps the service answering meanwhile.
    if format == ReportFormat.html:
        return Response(await asyncio.to_thread(to_html, built),
                        media_type="text/html; charset=utf-8")
    if format in FILES:
        render, media_type = FILES[format]
        unsigned = await asyncio.to_thread(
            lambda: report_signature.prepare(render(built), ReportFileFormat(format.value)))
        signed = await report_signature.sign(
            unsigned, year=built.year, tier=built.tier, signed_at=clock.now(),
            signer=request.app.state.report_signer)
        digest = bytes.fromhex(report_signature.file_digest(signed))
        return Response(signed, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="evaluation-{built.year}.'
                                   f'{format.value}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:"})
    return Response(built.model_dump_json(), media_type="application/json")
