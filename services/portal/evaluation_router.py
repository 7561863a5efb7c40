"""The evaluation's pages (V1, V2): the departments' scores and ranking for a period, the
rectification list with its deadlines, and the yearly report, read in the page (its HTML,
framed without scripts) and downloaded as PDF or JSON. The scores and the list are published
to the departments (a department's list is its own, as the API decides); the report's pages
are the oversight roles'."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, ViewerDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.sections import OVERSIGHT
from services.portal.session import Viewer
from shared import clock
from shared.contracts import findings
from shared.workdays import china_date

router = APIRouter(prefix="/evaluation", include_in_schema=False)

EVALUATION = "/api/evaluation"
Overseer = Annotated[Viewer, with_role(*OVERSIGHT)]
Period = Annotated[str | None, Query(pattern=r"^20\d{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$")]
Year = Annotated[int, Path(ge=2000, le=2099)]
# The report, framed in the portal's page: its own styles, nothing else (no script runs).
FRAMED = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
FILES = {"pdf": "application/pdf", "json": "application/json"}


def this_year() -> int:
    return china_date(clock.now()).year


@router.get("")
async def scores(request: Request, viewer: ViewerDep, api: ApiDep, period: Period = None,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    """Every department's score and rank for the period (this year's so far by default)."""
    period = period or str(this_year())
    page, problem = None, None
    try:
        page = await api.get(f"{EVALUATION}/scores", token=viewer.token, params={
            "period": period, "limit": PAGE_SIZE, "offset": offset})
    except ApiProblem as refused:
        problem = refused
    return render(request, "evaluation_scores.html.j2", viewer=viewer, page=page,
                  period=period, problem=problem, labels=LABELS, evidence=findings.evidence,
                  status=problem.status if problem else 200)


@router.get("/rectifications")
async def rectifications(request: Request, viewer: ViewerDep, api: ApiDep,
                         year: Annotated[int | None, Query(ge=2000, le=2099)] = None
                         ) -> Response:
    year = year or this_year()
    items, problem = None, None
    try:
        items = await api.get(f"{EVALUATION}/rectifications", token=viewer.token,
                              params={"year": year})
    except ApiProblem as refused:
        problem = refused
    return render(request, "evaluation_rectifications.html.j2", viewer=viewer, items=items,
                  year=year, problem=problem, labels=LABELS, evidence=findings.evidence,
                  status=problem.status if problem else 200)


@router.get("/reports")
async def this_years_report(request: Request, viewer: Overseer) -> Response:
    return redirect(request, f"/evaluation/reports/{this_year()}")


@router.get("/reports/{year}")
async def report_page(request: Request, year: Year, viewer: Overseer) -> Response:
    return render(request, "evaluation_report.html.j2", viewer=viewer, year=year,
                  years=range(this_year(), max(2000, this_year() - 5), -1))


@router.get("/reports/{year}/document")
async def report_document(year: Year, viewer: Overseer, api: ApiDep) -> Response:
    """The report's HTML as the evaluation renders it, for the page's frame."""
    answer = await api.download(f"{EVALUATION}/reports/{year}", token=viewer.token,
                                params={"format": "html"})
    return Response(answer.content, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": FRAMED,
                             "X-Frame-Options": "SAMEORIGIN"})


@router.get("/reports/{year}/download")
async def report_file(year: Year, viewer: Overseer, api: ApiDep,
                      format: Annotated[str, Query(pattern="^(pdf|json)$")]) -> Response:
    answer = await api.download(f"{EVALUATION}/reports/{year}", token=viewer.token,
                                params={"format": format})
    name = f"政务信息资源共享评价报告-{year}.{format}"
    return Response(answer.content, media_type=FILES[format], headers={
        "Content-Disposition": f"attachment; filename=\"evaluation-{year}.{format}\"; "
                               f"filename*=UTF-8''{quote(name)}"})
