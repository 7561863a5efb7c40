"""The evaluation's pure rules: periods, rates, scores, ranking, deadlines, renderings."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from services.evaluation import scoring
from services.evaluation.indicators import DepartmentIndicators
from services.evaluation.method import Indicator, default_method
from services.evaluation.periods import Period
from services.evaluation.render_html import to_html
from services.evaluation.render_pdf import to_pdf
from services.evaluation.report import SECTIONS, DepartmentTrend, Summary, TrendPoint, YearReport
from services.evaluation.systems import SystemUsage, zombie_threshold
from shared.contracts import Tier

MUNICIPAL = default_method(Tier.municipal)
NATIONAL = default_method(Tier.national)


@pytest.mark.parametrize(("label", "first", "last"), [
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
])
def test_periods_are_runs_of_china_days(label: str, first: date, last: date) -> None:
    period = Period.parse(label)
    assert (period.first_day, period.last_day) == (first, last)
    assert period.start.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]


@pytest.mark.parametrize("label", ["26", "2026-Q5", "2026-13", "2026-00", "2026-1"])
def test_a_malformed_period_is_refused(label: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(label)


def counts(**values: object) -> DepartmentIndicators:
    return DepartmentIndicators(**{"department": "11320100MB0000000X", "name": "南京市某局",
                                   "period": "2026", "entries_published": 1, **values})


def test_nothing_owed_is_nothing_failed_but_an_empty_catalog_fails_twice() -> None:
    clean = scoring.score(counts(), MUNICIPAL)
    assert clean.score == 100 and not any(part.finding for part in clean.indicators)
    empty = scoring.score(counts(entries_published=0), MUNICIPAL)
    failed = {part.indicator for part in empty.indicators if part.finding}
    assert failed == {Indicator.catalog, Indicator.provision} and empty.score == 60


def test_responsiveness_counts_refusals_without_reason_as_failures() -> None:
    rate, evidence = scoring.rate_of(Indicator.responsiveness, counts(
        requests_due=4, requests_answered_on_time=3, requests_unanswered=1,
        requests_refused=2, requests_refused_without_reason=1))
    assert rate == 0.5 and "1 refused without reason" in evidence


def test_an_entry_without_data_fails_provision_as_a_stale_one_does() -> None:
    rate, evidence = scoring.rate_of(Indicator.provision, counts(
        entries_published=4, entries_stale=1, entries_without_data=1))
    assert rate == 0.5
    assert evidence == "1 of 4 entries found stale, 1 with no data on the platform"
    only = scoring.score(counts(entries_published=1, entries_without_data=1), MUNICIPAL)
    [finding] = scoring.rectifications([only], MUNICIPAL, date(2027, 4, 1))
    assert (finding.indicator, finding.points) == (Indicator.provision,
                                                   ["JS §25(二)", "51 §24(二)"])


def test_values_differing_from_another_source_fail_quality_as_late_objections_do() -> None:
    rate, evidence = scoring.rate_of(Indicator.quality, counts(
        crosscheck_subjects=200, crosscheck_mismatches=2))
    assert rate == 0.99 and evidence.endswith(
        "; 2 of 200 cross-checked subjects differing from another source")
    both, _ = scoring.rate_of(Indicator.quality, counts(
        objections_raised=2, objections_settled_in_time=1, objections_settled_late=1,
        crosscheck_subjects=200, crosscheck_mismatches=2))
    assert both == 0.495
    finding = scoring.score(counts(crosscheck_subjects=10, crosscheck_mismatches=1), NATIONAL)
    assert [(part.indicator, NATIONAL.indicators[part.indicator].points)
            for part in finding.indicators if part.finding] == [
        (Indicator.quality, ["51 §24(三)"])]


def test_a_method_stored_before_the_data_grace_existed_still_loads() -> None:
    stored = NATIONAL.model_dump()
    del stored["data_due_days"]
    assert type(NATIONAL).model_validate(stored).data_due_days == 15


def test_equal_scores_share_a_rank() -> None:
    scores = [scoring.score(counts(department=code, duplicate_collections=duplicates),
                            MUNICIPAL)
              for code, duplicates in (("B", 0), ("A", 0), ("C", 1), ("D", 1), ("E", 0))]
    ranked = scoring.rank(scores)
    assert [(item.department, item.rank) for item in ranked] == [
        ("A", 1), ("B", 1), ("E", 1), ("C", 4), ("D", 4)]


def test_report_due_dates_follow_the_rules_of_each_tier() -> None:
    assert scoring.report_due_on(2027, NATIONAL) == date(2028, 2, 29)  # leap year
    assert scoring.report_due_on(2026, MUNICIPAL) == date(2027, 1, 31)
    assert scoring.rectification_deadline(2026, MUNICIPAL) == date(2027, 4, 1)


def test_misuse_alone_bars_funding_and_so_does_a_low_score() -> None:
    misuse = scoring.score(counts(department="A", out_of_purpose_attempts=1), NATIONAL)
    low = scoring.score(counts(department="B", entries_published=0, requests_due=1), NATIONAL)
    fine = scoring.score(counts(department="C"), NATIONAL)
    listed = scoring.funding_ineligible([misuse, low, fine], NATIONAL)
    assert [(item.department, item.reasons[0].split(":")[0]) for item in listed] == [
        ("A", "purpose"), ("B", "score 35 below the pass mark 60")]


def test_a_project_or_database_outside_the_shared_catalog_bars_funding_alone() -> None:
    lapse = "project 智慧民政平台: entries attached at acceptance not in the shared catalog " \
        "(101001/000002) [51 §21]"
    rows = [counts(department="A", projects_without_catalog=1, catalog_lapses=[lapse]),
            counts(department="B")]
    scores = [scoring.score(row, NATIONAL) for row in rows]
    assert [item.score for item in scores] == [100, 100]
    listed = scoring.funding_ineligible(scores, NATIONAL, rows)
    assert [(item.department, item.reasons) for item in listed] == [("A", [lapse])]
    assert scoring.funding_ineligible(scores, NATIONAL) == []  # without the counts: score only


def test_the_zombie_threshold_is_yearly_and_proportional_for_shorter_periods() -> None:
    assert zombie_threshold(Period.parse("2026"), 12) == 12
    assert zombie_threshold(Period.parse("2026-Q2"), 12) == 2
    assert zombie_threshold(Period.parse("2026-02"), 12) == 0


def test_the_method_needs_every_indicator_and_some_weight() -> None:
    body = NATIONAL.model_dump()
    del body["indicators"]["use"]
    with pytest.raises(ValueError, match="use"):
        type(NATIONAL).model_validate(body)
    weightless = NATIONAL.model_dump()
    for rule in weightless["indicators"].values():
        rule["weight"] = 0
    with pytest.raises(ValueError, match="weight"):
        type(NATIONAL).model_validate(weightless)


def report(ranking_size: int) -> YearReport:
    rows = [counts(department=f"113201000000000{index:03d}", name=f"测试局{index}",
                   requests_due=index, requests_answered_on_time=index // 2)
            for index in range(ranking_size)]
    ranked = scoring.rank([scoring.score(row, MUNICIPAL) for row in rows])
    deadline = scoring.rectification_deadline(2026, MUNICIPAL)
    system = SystemUsage(
        id=uuid.uuid4(), name="旧业务系统", department=rows[0].department if rows else "x",
        description="x", funding_source="local_budget", construction_funding=Decimal("1"),
        annual_om_funding=Decimal("2"), resource_codes=[], client_ids=[], status="filed",
        filed_by="x", filed_at=datetime.now(UTC), retired_at=None, version=1, period="2026",
        calls_made=0, accesses_served=0, zombie=True)
    return YearReport(
        year=2026, tier=Tier.municipal, due_on=date(2027, 1, 31), due_basis="JS §19",
        method_version=None, method=MUNICIPAL,
        summary=Summary(departments=len(ranked), mean_score=None, requests_due=0,
                        requests_answered_on_time=0, objections_raised=0, accesses=0,
                        rectification_items=0, departments_to_rectify=0, funding_ineligible=0,
                        systems=1, zombie_systems=1, zombie_annual_om_funding="2"),
        ranking=ranked, indicators=rows,
        trends=[DepartmentTrend(department=item.department, name=item.name, points=[
            TrendPoint(period=f"2026-Q{q}", score=item.score) for q in range(1, 5)])
            for item in ranked],
        rectifications=scoring.rectifications(ranked, MUNICIPAL, deadline),
        rectification_deadline=deadline,
        funding_ineligible=scoring.funding_ineligible(ranked, MUNICIPAL), systems=[system],
        point_text={}, generated_at=datetime.now(UTC))


@pytest.mark.parametrize("size", [0, 1, 12, 150])
def test_both_renderings_have_every_section_whatever_the_number_of_departments(
        size: int) -> None:
    built = report(size)
    html = to_html(built)
    assert all(f'<section id="{key}">' in html for key in SECTIONS)
    pages = PdfReader(io.BytesIO(to_pdf(built))).pages
    text = "".join(page.extract_text() for page in pages).replace("\n", "")
    titles = [title.split(" ", 1) for title in SECTIONS.values()]  # the PDF's: in Chinese
    assert all(chinese in text and english not in text for chinese, english in titles)
    assert "旧业务系统" in text and ("测试局11" in text) == (size >= 12)
