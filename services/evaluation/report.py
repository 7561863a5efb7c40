"""V2: the yearly report on the node's departments, one model for JSON, HTML and PDF.

Due by the end of February nationally [51 §18] and of January in Jiangsu [JS §19] (the
method's `report_due_month`). It carries the ranking with each indicator's share, the
quarterly trend, the rectification list with its deadline, the departments not eligible for
approval or O&M funding (a low score, misuse, or a project or database whose resources are
not in the shared catalog), and the information-system registry with its zombies.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import indicators, scoring, systems
from services.evaluation.indicators import DepartmentIndicators
from services.evaluation.method import (
    POINT_TEXT,
    ScoringMethod,
    current_method,
    node_issuer,
    node_tier,
)
from services.evaluation.periods import Period
from services.evaluation.scoring import (
    DepartmentScore,
    FundingIneligibility,
    RectificationItem,
)
from services.evaluation.systems import SystemUsage
from shared import clock
from shared.contracts import Tier


class ReportFormat(StrEnum):
    json = "json"
    html = "html"
    pdf = "pdf"  # PDF/A-2b, signed by the node
    ofd = "ofd"  # GB/T 33190-2016, signed by the node


class TrendPoint(BaseModel):
    period: str
    score: float


class DepartmentTrend(BaseModel):
    department: str
    name: str
    points: list[TrendPoint] = Field(description="The department's score quarter by quarter.")


class Summary(BaseModel):
    departments: int
    mean_score: float | None
    requests_due: int
    requests_answered_on_time: int
    objections_raised: int
    accesses: int = Field(description="Granted accesses to shared data across the node.")
    rectification_items: int
    departments_to_rectify: int
    funding_ineligible: int
    systems: int
    zombie_systems: int
    zombie_annual_om_funding: str = Field(description="Yearly O&M funding of zombie "
                                                      "systems, yuan.")


class YearReport(BaseModel):
    year: int
    tier: Tier
    issuer: str = Field("", description="The node issuing the report: its name, else its id.")
    due_on: date = Field(description="Date the report is due [51 §18 / JS §19].")
    due_basis: str
    method_version: int | None = Field(description="Version of the scoring method in force; "
                                                   "empty for the tier's default.")
    method: ScoringMethod
    summary: Summary
    ranking: list[DepartmentScore]
    indicators: list[DepartmentIndicators]
    trends: list[DepartmentTrend]
    rectifications: list[RectificationItem]
    rectification_deadline: date
    funding_ineligible: list[FundingIneligibility]
    systems: list[SystemUsage] = Field(description="Systems of the evaluated departments, "
                                                    "with their use in the year (V3).")
    point_text: dict[str, str] = Field(description="The wording of each cited point.")
    generated_at: datetime


async def evaluate(session: AsyncSession, period: Period, method: ScoringMethod, *,
                   now: datetime) -> tuple[list[DepartmentIndicators], list[DepartmentScore]]:
    """Indicators and ranked scores of every department for one period."""
    counts = await indicators.compute(session, period, method, now=now)
    return counts, scoring.rank([scoring.score(item, method) for item in counts])


async def build(session: AsyncSession, year: int, *, now: datetime | None = None) -> YearReport:
    now = now or clock.now()
    period = Period.year(year)
    version, method = await current_method(session)
    counts, ranking = await evaluate(session, period, method, now=now)
    trends = {item.department: DepartmentTrend(department=item.department, name=item.name,
                                               points=[]) for item in ranking}
    for quarter in period.quarters():
        if quarter.start >= now:
            break
        for item in (await evaluate(session, quarter, method, now=now))[1]:
            if item.department in trends:
                trends[item.department].points.append(
                    TrendPoint(period=quarter.label, score=item.score))
    deadline = scoring.rectification_deadline(year, method)
    rectifications = scoring.rectifications(ranking, method, deadline)
    ineligible = scoring.funding_ineligible(ranking, method, counts)
    registry, _ = await systems.usage(session, period, now=now,
                                      zombie_max_uses=method.zombie_max_uses)
    evaluated = {item.department for item in ranking}
    registry = [system for system in registry if system.department in evaluated]
    return YearReport(
        year=year, tier=await node_tier(session), issuer=await node_issuer(session),
        due_on=scoring.report_due_on(year, method),
        due_basis=method.report_basis, method_version=version, method=method,
        summary=_summary(counts, ranking, rectifications, ineligible, registry),
        ranking=ranking, indicators=counts, trends=list(trends.values()),
        rectifications=rectifications, rectification_deadline=deadline,
        funding_ineligible=ineligible, systems=registry,
        point_text={point: POINT_TEXT.get(point, "") for point in sorted(
            {point for rule in method.indicators.values() for point in rule.points})},
        generated_at=now)


def _summary(counts: list[DepartmentIndicators], ranking: list[DepartmentScore],
             rectifications: list[RectificationItem], ineligible: list[FundingIneligibility],
             registry: list[SystemUsage]) -> Summary:
    zombies = [system for system in registry if system.zombie]
    return Summary(
        departments=len(ranking),
        mean_score=round(sum(item.score for item in ranking) / len(ranking), 2)
        if ranking else None,
        requests_due=sum(item.requests_due for item in counts),
        requests_answered_on_time=sum(item.requests_answered_on_time for item in counts),
        objections_raised=sum(item.objections_raised for item in counts),
        accesses=sum(item.accesses_made for item in counts),
        rectification_items=len(rectifications),
        departments_to_rectify=len({item.department for item in rectifications}),
        funding_ineligible=len(ineligible), systems=len(registry), zombie_systems=len(zombies),
        zombie_annual_om_funding=str(sum((system.annual_om_funding for system in zombies),
                                         start=0)))


SECTIONS = {
    "summary": "概要 Summary",
    "ranking": "排名 Ranking",
    "breakdown": "指标明细 Indicator breakdown",
    "trends": "趋势 Trends",
    "rectification": "整改清单 Rectification list",
    "funding": "不予审批和运维经费 Not eligible for approval or O&M funding",
    "systems": "信息系统备案 Information systems",
    "method": "评价方法 Scoring method",
}
"""The report's sections, in order, as both renderings title them."""

INDICATOR_LABELS = {
    "catalog": "目录编制更新 Catalog",
    "provision": "资源提供时效 Provision",
    "quality": "数据质量异议 Quality",
    "responsiveness": "申请响应 Responsiveness",
    "use": "共享数据使用 Use",
    "collection": "重复采集 Collection",
    "purpose": "用途合规 Purpose",
}

PALETTE = ["#1f5fa8", "#d9822b", "#3a9d5d", "#c23b3b", "#7b5ea7", "#8c6d46", "#d36fb0",
           "#5f7d8c", "#b5a33a", "#2fa4a9"]
