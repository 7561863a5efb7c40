"""Who each event's notice goes to, and what it says: the department that must act (and
the role there that does the work), never the one that acted."""

from __future__ import annotations

from datetime import date

from services.portal import notices
from services.portal.notices import Names, NoticeKind
from shared.contracts.evaluation import RectificationListed
from tests import factories
from tests.unit import events
from tests.unit.events import CONSUMER, PROVIDER, WHEN, request

NAMES = Names({CONSUMER: "南京市人力资源和社会保障局", PROVIDER: "南京市公安局"},
              {"101001/000001": "人口基础信息"})


def addressees(drafts: list[notices.Draft]) -> list[tuple[str | None, str | None]]:
    return [(draft.department, draft.role) for draft in drafts]


def test_a_request_to_answer_goes_to_the_providers_reviewers_with_its_due_date() -> None:
    [draft] = notices.request_submitted(request())
    assert (draft.department, draft.role, draft.kind) == (
        PROVIDER, "request_reviewer", NoticeKind.request_submitted)
    assert "南京市人力资源和社会保障局" in NAMES.fill(draft.body)
    assert "2026年10月26日" in draft.body
    assert "数据校核" in draft.body and draft.link.startswith("/requests/")


def test_a_request_granted_at_once_asks_nothing_of_the_provider() -> None:
    assert notices.request_submitted(request(status="approved", due_on=None)) == []


def test_a_message_goes_to_the_other_party_and_an_arbiters_to_both() -> None:
    asked = request(status="negotiating")
    assert addressees(notices.message_posted(asked, CONSUMER, "请再考虑")) == [
        (PROVIDER, "request_reviewer")]
    assert addressees(notices.message_posted(asked, "arbiter", "请双方说明")) == [
        (CONSUMER, "request_reviewer"), (PROVIDER, "request_reviewer")]


def test_an_escalation_goes_to_the_other_party_and_to_the_nodes_arbiters() -> None:
    escalated = request(status="escalated", escalation={
        "arbiter": "competent_authority", "escalated_by": CONSUMER, "reason": "业务急需",
        "escalated_at": WHEN})
    drafts = notices.request_escalated(escalated)
    assert addressees(drafts) == [(PROVIDER, "request_reviewer"), (None, "arbiter")]
    assert "本级政务信息资源共享主管部门" in drafts[0].body
    assert drafts[1].link.startswith("/arbitration/")


def test_a_withdrawn_request_tells_the_consumer_only_when_the_platform_closed_it() -> None:
    closed = request(status="withdrawn", closed_reason="目录已撤销")
    assert addressees(notices.request_withdrawn(closed, "zhangwei")) == [
        (PROVIDER, "request_reviewer")]
    assert addressees(notices.request_withdrawn(closed, "platform")) == [
        (PROVIDER, "request_reviewer"), (CONSUMER, "request_reviewer")]


def test_an_agreement_proposed_waits_on_the_other_party_and_a_lapse_tells_both() -> None:
    agreement = events.agreement(proposer=PROVIDER)
    proposed = notices.agreement_changed("share.agreement.proposed.v1", agreement)
    assert addressees(proposed) == [(CONSUMER, "request_reviewer")]
    assert "“人口基础信息”（101001/000001）" in NAMES.fill(proposed[0].title)
    lapsed = notices.agreement_changed("share.agreement.lapsed.v1", agreement)
    assert addressees(lapsed) == [(CONSUMER, "request_reviewer"), (PROVIDER, "request_reviewer")]


def test_a_duplicate_collection_flag_goes_to_the_providers_catalog_editors() -> None:
    [draft] = notices.duplicate_flagged(events.duplicate_flag())
    assert (draft.department, draft.role) == (PROVIDER, "catalog_editor")
    assert draft.link == "/catalog/entries/101001/000001"
    assert "南京市人力资源和社会保障局" in NAMES.fill(draft.body)


def test_names_are_filled_in_when_shown_and_one_not_known_yet_is_said_by_its_code() -> None:
    unknown = factories.credit_code()
    text = (f"{notices.department_named(CONSUMER)}、{notices.department_named(unknown)}："
            f"{notices.entry_named('101001/000001')}、{notices.entry_named('101001/000009')}")
    assert Names.wanted([text]) == ({CONSUMER, unknown}, {"101001/000001", "101001/000009"})
    assert NAMES.fill(text) == (f"南京市人力资源和社会保障局、{unknown}："
                                "“人口基础信息”（101001/000001）、101001/000009")


def test_a_rectification_item_goes_to_everyone_of_the_department_with_its_deadline() -> None:
    listed = RectificationListed(year=2025, department=CONSUMER, indicator="catalog",
                                 points=["JS §25(一)", "51 §24(一)"],
                                 evidence="1 of 1 catalog changes not made in time",
                                 deadline=date(2026, 4, 1))
    [draft] = notices.rectification_listed(listed)
    assert (draft.department, draft.role) == (CONSUMER, None)
    assert draft.title == "2025年度整改事项：目录编制与更新"
    assert "2026年4月1日" in draft.body and "JS §25(一)、51 §24(一)" in draft.body
    assert draft.link == "/evaluation/rectifications?year=2025"
