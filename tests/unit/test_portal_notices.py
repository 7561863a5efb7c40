"""Who each event's notice goes to, and what it says: the department that must act (and
the role there that does the work), never the one that acted."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.portal import notices
from services.portal.notices import Names, NoticeKind
from shared.contracts.catalog import DuplicateCollectionFlagged
from shared.contracts.evaluation import RectificationListed
from shared.contracts.sharing import AgreementSnapshot, RequestSnapshot
from tests import factories

CONSUMER, PROVIDER = factories.credit_code(), factories.credit_code()
NAMES = Names({CONSUMER: "南京市人力资源和社会保障局", PROVIDER: "南京市公安局"},
              {"101001/000001": "人口基础信息"})
WHEN = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)


def request(**changes: Any) -> RequestSnapshot:
    body: dict[str, Any] = {
        "id": uuid.uuid4(), "node": "320100-external", "consumer": CONSUMER,
        "provider": PROVIDER, "entry_code": "101001/000001", "entry_name": "人口基础信息",
        "share_type": "conditional", "legal_basis": "《社会保险法》第五十八条",
        "purpose": "data_verification", "items": ["GMSFHM"], "methods": ["online_query"],
        "valid_until": "2027-10-12", "status": "submitted", "version": 1,
        "submitted_by": "zhangwei", "submitted_at": WHEN, "due_on": "2026-10-26",
        "calendar_basis": ["library"]}
    return RequestSnapshot.model_validate({**body, **changes})


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
    agreement = AgreementSnapshot(
        id=uuid.uuid4(), consumer=CONSUMER, provider=PROVIDER, entry_code="101001/000001",
        reference="宁公保〔2026〕12号", document_sha256="0" * 64, signed_on=date(2026, 10, 1),
        valid_until=date(2027, 9, 30), status="proposed", version=1, proposer=PROVIDER,
        proposed_by="liuyang", proposed_at=WHEN)
    proposed = notices.agreement_changed("share.agreement.proposed.v1", agreement)
    assert addressees(proposed) == [(CONSUMER, "request_reviewer")]
    assert "“人口基础信息”（101001/000001）" in NAMES.fill(proposed[0].title)
    lapsed = notices.agreement_changed("share.agreement.lapsed.v1", agreement)
    assert addressees(lapsed) == [(CONSUMER, "request_reviewer"), (PROVIDER, "request_reviewer")]


def test_a_duplicate_collection_flag_goes_to_the_providers_catalog_editors() -> None:
    flag = DuplicateCollectionFlagged(
        entry_code="101001/000001", provider=PROVIDER, item_code="GMSFHM",
        item_name="公民身份号码", responsible_department=CONSUMER, identifies_subject=True)
    [draft] = notices.duplicate_flagged(flag)
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
