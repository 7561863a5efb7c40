"""What the oversight and node settings pages compute themselves: the evaluation's findings
read in Chinese, the scoring method's form both ways, and the tabs each role sees."""

from __future__ import annotations

import re
from enum import StrEnum
from types import SimpleNamespace

import pytest
from starlette.datastructures import FormData

from services.evaluation import scoring
from services.evaluation.indicators import DepartmentIndicators, _project_lapse
from services.evaluation.method import Indicator, default_method
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors
from services.portal.labels import LABELS
from services.portal.method_form import INPUTS, method_body, method_inputs
from services.portal.sections import section_tabs
from services.portal.session import Viewer
from shared.contracts import NodeRelation, Tier, Zone, findings
from shared.contracts.evaluation import FundingSource, SystemStatus

MUNICIPAL = default_method(Tier.municipal)
# English left in a sentence once it is read in Chinese (codes like "51 §21" are no words).
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def counts(**values: object) -> DepartmentIndicators:
    return DepartmentIndicators(**{"department": "11320100MB0000000X", "name": "南京市民政局",
                                   "period": "2026", "entries_published": 4, **values})


@pytest.mark.parametrize("department", [
    counts(), counts(entries_published=0),
    counts(triggers_due=3, triggers_met=1, entries_stale=1, entries_without_data=2,
           objections_raised=2, objections_settled_late=1, crosscheck_subjects=9,
           crosscheck_mismatches=2, requests_due=5, requests_answered_on_time=3,
           requests_unanswered=1, requests_refused_without_reason=1, accesses_made=7,
           records_received=70, duplicate_collections=2, out_of_purpose_attempts=3),
], ids=["clean", "empty-catalog", "every-lapse"])
def test_every_indicators_evidence_reads_in_chinese(department: DepartmentIndicators) -> None:
    for indicator in Indicator:
        _, evidence = scoring.rate_of(indicator, department)
        assert not ENGLISH.search(findings.evidence(evidence)), evidence


def test_the_numbers_of_the_evidence_keep_their_places() -> None:
    _, evidence = scoring.rate_of(Indicator.responsiveness, counts(
        requests_due=5, requests_answered_on_time=3, requests_answered_late=1,
        requests_unanswered=1, requests_refused_without_reason=2))
    assert findings.evidence(evidence) == (
        "应答复申请 5 件，按时答复 3 件、逾期答复 1 件、未答复 1 件、无理由拒绝 2 件")


def test_every_reason_a_department_loses_funding_reads_in_chinese() -> None:
    lapses = [
        _project_lapse(SimpleNamespace(name="智慧民政综合信息平台建设项目", accepted_codes=[]),
                       set()),
        _project_lapse(SimpleNamespace(name="婚姻登记系统升级项目",
                                       accepted_codes=["3201001/000001"]), set()),
        "database 婚姻登记库 backs no entry of the shared catalog (3201001/000002) "
        "[BJ 三(二), 51 §21]",
    ]
    scored = scoring.score(counts(entries_published=0, out_of_purpose_attempts=2), MUNICIPAL)
    [ineligible] = scoring.funding_ineligible(
        [scored.model_copy(update={"score": 45.5})], MUNICIPAL,
        [counts(catalog_lapses=lapses)])
    read = [findings.reason(reason) for reason in ineligible.reasons]
    assert read[0] == "得分 45.5，低于合格分 60"
    assert read[1] == "“按用途使用”未达标：超出授权用途的访问 2 次"
    assert read[-1] == ("数据库“婚姻登记库”未支撑共享目录中任何已发布的条目"
                        "（3201001/000002）〔BJ 三(二), 51 §21〕")
    assert not any(ENGLISH.search(reason) for reason in read), read


def test_a_sentence_not_known_is_shown_as_the_api_wrote_it() -> None:
    assert findings.reason("a reason added later") == "a reason added later"
    assert findings.evidence("3 of something") == "3 of something"


def test_the_method_in_force_fills_the_form_and_comes_back_as_it_was() -> None:
    api_json = MUNICIPAL.model_dump(mode="json")
    inputs = method_inputs(api_json)
    assert set(inputs) == set(INPUTS)
    assert inputs["indicators.catalog.weight"] == 20  # not 20.0
    assert inputs["indicators.catalog.points"] == "JS §25(一)；51 §24(一)"
    form = FormData([(name, str(value)) for name, value in inputs.items()
                     if not name.endswith("blocks_funding")]
                    + [(name, "on") for name, value in inputs.items()
                       if name.endswith("blocks_funding") and value])
    assert type(MUNICIPAL).model_validate(method_body(form)) == MUNICIPAL


def test_a_weight_the_api_refuses_is_told_at_that_indicators_weight() -> None:
    problem = ApiProblem.from_body(422, {
        "type": "https://govshare.example/problems/validation-error", "status": 422,
        "errors": [{"field": "body.indicators.quality.weight", "code": "less_than_equal"}]})
    assert field_errors(problem, INPUTS)["indicators.quality.weight"] == "数值大于允许的最大值。"


def viewer(*roles: str) -> Viewer:
    return Viewer(token="t", username="u", display_name="孙丽", department=None,
                  department_name=None, roles=roles, expires_at=0)


def test_each_role_sees_the_tabs_of_the_pages_it_may_open() -> None:
    reviewer = [tab.path for tab, _ in section_tabs("evaluation", viewer("request_reviewer"),
                                                    "/evaluation")]
    assert reviewer == ["/evaluation", "/evaluation/rectifications"]
    auditor = section_tabs("evaluation", viewer("auditor"), "/evaluation/reports/2026")
    assert [tab.label for tab, here in auditor if here] == ["年度报告"]
    security = section_tabs("admin", viewer("security_admin"), "/admin/users")
    assert [(tab.label, here) for tab, here in security] == [("用户与角色", True)]


@pytest.mark.parametrize(("table", "codes"), [
    ("zone", Zone), ("node_relation", NodeRelation), ("funding_source", FundingSource),
    ("system_status", SystemStatus), ("indicator", Indicator),
])
def test_every_code_these_pages_show_has_its_chinese_name(table: str,
                                                          codes: type[StrEnum]) -> None:
    assert set(LABELS[table]) >= {code.value for code in codes}
