"""V2: from indicators to rates, scores, ranking, findings and funding eligibility.

Pure functions of the indicators and the method, so the same numbers come out of the API,
the report and the tests. A rate is 1.0 when there was nothing to fail (no request owed, no
objection raised), so a department is never marked down for what it was not asked to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pydantic import BaseModel, Field

from services.evaluation.indicators import DepartmentIndicators
from services.evaluation.method import Indicator, ScoringMethod


class IndicatorScore(BaseModel):
    indicator: Indicator
    rate: float = Field(ge=0, le=1, description="How well the department did, 0 to 1.")
    weight: float
    points: float = Field(description="The rate's contribution to the score.")
    finding: bool = Field(description="The rate is below the method's threshold.")
    evidence: str = Field(description="The counts behind the rate.")


class DepartmentScore(BaseModel):
    department: str
    name: str
    period: str
    score: float = Field(ge=0, le=100)
    rank: int = Field(ge=1, description="Equal scores share a rank (1, 2, 2, 4).")
    indicators: list[IndicatorScore]


class RectificationItem(BaseModel):
    """One department's finding on one indicator, the points it violates, and by when."""

    department: str
    name: str
    indicator: Indicator
    points: list[str] = Field(description="Points of 51 §24 / JS §25 violated.")
    evidence: str
    deadline: date


class FundingIneligibility(BaseModel):
    """A department failing the sharing requirements: no project approval, no O&M funding
    [51 §21, 39 三(六)]."""

    department: str
    name: str
    score: float
    reasons: list[str]


def rate_of(indicator: Indicator, counts: DepartmentIndicators) -> tuple[float, str]:
    """The rate of one indicator and the counts it rests on."""
    c = counts
    if indicator == Indicator.catalog:
        if not c.entries_published:
            return 0.0, "no entry published: the catalog is not compiled"
        return _ratio(c.triggers_met, c.triggers_due,
                      f"{c.triggers_met} of {c.triggers_due} catalog updates made on time")
    if indicator == Indicator.provision:
        return _provision(c)
    if indicator == Indicator.quality:
        return _quality(c)
    if indicator == Indicator.responsiveness:
        proper = c.requests_answered_on_time - c.requests_refused_without_reason
        return _ratio(max(proper, 0), c.requests_due,
                      f"{c.requests_answered_on_time} of {c.requests_due} requests answered "
                      f"in time, {c.requests_answered_late} late, {c.requests_unanswered} "
                      f"unanswered, {c.requests_refused_without_reason} refused without reason")
    if indicator == Indicator.use:
        return (1.0 if c.accesses_made else 0.0,
                f"{c.accesses_made} accesses to shared data, {c.records_received} records")
    if indicator == Indicator.collection:
        return (0.0 if c.duplicate_collections else 1.0,
                f"{c.duplicate_collections} items collected again")
    return (0.0 if c.out_of_purpose_attempts else 1.0,
            f"{c.out_of_purpose_attempts} accesses attempted beyond the granted purpose")


def _provision(c: DepartmentIndicators) -> tuple[float, str]:
    """Entries provided and kept fresh: an entry stale or without data fails [51 §24(二)]."""
    if not c.entries_published:
        return 0.0, "no entry provided"
    failed = min(c.entries_stale + c.entries_without_data, c.entries_published)
    return _ratio(c.entries_published - failed, c.entries_published,
                  f"{c.entries_stale} of {c.entries_published} entries found stale, "
                  f"{c.entries_without_data} with no data on the platform")


def _quality(c: DepartmentIndicators) -> tuple[float, str]:
    """Objections settled in time, times the share of cross-checked subjects whose values
    agreed with the other source: either lapse fails [51 §24(三)]."""
    judged = c.objections_settled_in_time + c.objections_settled_late + \
        c.objections_open_overdue
    settled, _ = _ratio(c.objections_settled_in_time, judged, "")
    agreed, _ = _ratio(c.crosscheck_subjects - c.crosscheck_mismatches, c.crosscheck_subjects,
                       "")
    return round(settled * agreed, 4), (
        f"{c.objections_raised} objections raised, {c.objections_settled_in_time} settled in "
        f"time, {c.objections_settled_late} late, {c.objections_open_overdue} unsettled past "
        f"the deadline; {c.crosscheck_mismatches} of {c.crosscheck_subjects} cross-checked "
        f"subjects differing from another source")


def _ratio(done: int, owed: int, evidence: str) -> tuple[float, str]:
    return (round(done / owed, 4) if owed else 1.0), evidence


def score(counts: DepartmentIndicators, method: ScoringMethod) -> DepartmentScore:
    """One department's score (rank 1 until `rank` places it among others)."""
    total_weight = sum(rule.weight for rule in method.indicators.values())
    parts = []
    for indicator in Indicator:
        rule = method.indicators[indicator]
        rate, evidence = rate_of(indicator, counts)
        parts.append(IndicatorScore(
            indicator=indicator, rate=rate, weight=rule.weight,
            points=round(100 * rule.weight * rate / total_weight, 2),
            finding=rate < rule.threshold, evidence=evidence))
    return DepartmentScore(department=counts.department, name=counts.name,
                           period=counts.period,
                           score=round(sum(part.points for part in parts), 2), rank=1,
                           indicators=parts)


def rank(scores: list[DepartmentScore]) -> list[DepartmentScore]:
    """Best first; equal scores share a rank and are listed by credit code."""
    ordered = sorted(scores, key=lambda item: (-item.score, item.department))
    ranked, previous = [], None
    for position, item in enumerate(ordered, 1):
        shared = previous is not None and previous.score == item.score
        ranked.append(item.model_copy(update={"rank": previous.rank if shared else position}))
        previous = ranked[-1]
    return ranked


def rectification_deadline(year: int, method: ScoringMethod) -> date:
    """The report's due date for `year` plus the days the method allows to rectify."""
    return report_due_on(year, method) + timedelta(days=method.rectification_days)


def report_due_on(year: int, method: ScoringMethod) -> date:
    """Last day of the month the report is due, in the year after the one it covers."""
    month = method.report_due_month
    first_of_next = date(year + 1 + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def rectifications(scores: list[DepartmentScore], method: ScoringMethod,
                   deadline: date) -> list[RectificationItem]:
    return [RectificationItem(department=item.department, name=item.name,
                              indicator=part.indicator,
                              points=method.indicators[part.indicator].points,
                              evidence=part.evidence, deadline=deadline)
            for item in sorted(scores, key=lambda item: item.department)
            for part in item.indicators if part.finding]


def funding_ineligible(scores: list[DepartmentScore], method: ScoringMethod,
                       counts: Sequence[DepartmentIndicators] = ()
                       ) -> list[FundingIneligibility]:
    """Departments below the pass mark, with a finding that bars funding, or with a project
    or database whose resources are not in the shared catalog (`counts`' catalog lapses)."""
    lapses = {item.department: item.catalog_lapses for item in counts}
    listed = []
    for item in sorted(scores, key=lambda item: item.department):
        reasons = [f"score {item.score:g} below the pass mark {method.pass_score:g}"] \
            if item.score < method.pass_score else []
        reasons += [f"{part.indicator}: {part.evidence}" for part in item.indicators
                    if part.finding and method.indicators[part.indicator].blocks_funding]
        reasons += lapses.get(item.department, [])
        if reasons:
            listed.append(FundingIneligibility(department=item.department, name=item.name,
                                               score=item.score, reasons=reasons))
    return listed
