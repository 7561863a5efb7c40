"""What each event tells whom: the notices (站内信), in Chinese, with the page to act on.

Pure functions of an event's payload (names are filled in when shown): `services/portal/
handlers.py` stores what they return. A notice goes to the department that must act, and to
the role within it that does the work (request_reviewer for requests, grants, agreements and
objections; catalog_editor for the catalog's flags); the arbiters' notices go to every
arbiter of the node, since which departments sit for a body is not announced.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.portal.labels import label
from services.portal.pages import cn_date
from shared.contracts import Role
from shared.contracts.catalog import DuplicateCollectionFlagged
from shared.contracts.evaluation import RectificationListed
from shared.contracts.exchange import EntryStale, ObjectionSnapshot
from shared.contracts.sharing import (
    AgreementSnapshot,
    GrantSnapshot,
    RequestSnapshot,
)


class NoticeKind(StrEnum):
    request_submitted = "request_submitted"
    request_due_soon = "request_due_soon"
    request_overdue = "request_overdue"
    request_answered = "request_answered"
    request_negotiation = "request_negotiation"
    request_message = "request_message"
    request_escalated = "request_escalated"
    request_decided = "request_decided"
    request_withdrawn = "request_withdrawn"
    grant_issued = "grant_issued"
    grant_changed = "grant_changed"
    grant_revoked = "grant_revoked"
    grant_suspended = "grant_suspended"
    grant_reinstated = "grant_reinstated"
    grant_expiring = "grant_expiring"
    grant_ended = "grant_ended"
    agreement_proposed = "agreement_proposed"
    agreement_confirmed = "agreement_confirmed"
    agreement_lapsed = "agreement_lapsed"
    objection_raised = "objection_raised"
    objection_progress = "objection_progress"
    entry_stale = "entry_stale"
    duplicate_collection = "duplicate_collection"
    rectification = "rectification"


# What the inbox shows beside a notice: the kind of work, in a word or two.
KIND_LABELS: dict[str, str] = {
    "request_submitted": "待答复申请", "request_due_soon": "即将到期",
    "request_overdue": "已逾期", "request_answered": "申请答复",
    "request_negotiation": "协商", "request_message": "协商留言",
    "request_escalated": "提请协调", "request_decided": "协调决定",
    "request_withdrawn": "申请撤回", "grant_issued": "授权", "grant_changed": "授权变更",
    "grant_revoked": "授权撤销", "grant_suspended": "授权暂停", "grant_reinstated": "授权恢复",
    "grant_expiring": "授权即将到期", "grant_ended": "授权终止",
    "agreement_proposed": "保密协议", "agreement_confirmed": "保密协议",
    "agreement_lapsed": "保密协议失效", "objection_raised": "数据异议",
    "objection_progress": "异议处理", "entry_stale": "更新滞后",
    "duplicate_collection": "重复采集", "rectification": "整改事项",
}

# Who a dispute goes to [51 §12, JS §16].
ARBITER_BODIES: dict[str, str] = {
    "competent_authority": "本级政务信息资源共享主管部门",
    "coordinating_body": "协调机构（联席会议或领导小组）",
}

REVIEWER = Role.request_reviewer.value
EDITOR = Role.catalog_editor.value
ARBITER = Role.arbiter.value


@dataclass(frozen=True)
class Draft:
    """A notice before it is stored: to `department` (None: every holder of `role` on the
    node), for the holders of `role` there (None: everyone of the department)."""

    kind: NoticeKind
    department: str | None
    role: str | None
    title: str
    body: str
    link: str


class Pages:
    """The portal pages a notice sends its reader to: where each kind of work is done."""

    @staticmethod
    def request(request_id: uuid.UUID) -> str:
        return f"/requests/{request_id}"

    @staticmethod
    def case(request_id: uuid.UUID) -> str:
        return f"/arbitration/{request_id}"

    @staticmethod
    def grant(grant_id: uuid.UUID) -> str:
        return f"/grants/{grant_id}"

    @staticmethod
    def agreement(agreement_id: uuid.UUID) -> str:
        return f"/agreements/{agreement_id}"

    @staticmethod
    def objection(objection_id: uuid.UUID) -> str:
        return f"/objections/{objection_id}"

    @staticmethod
    def entry(code: str) -> str:
        return f"/catalog/entries/{code}"

    @staticmethod
    def rectifications(year: int) -> str:
        return f"/evaluation/rectifications?year={year}"


# Departments and entries are named when a notice is shown or mailed, not when it is made:
# the portal may hear of a request before it hears of the department that filed it, and a
# department renamed is shown by its new name.
MARK = re.compile(r"\[\[(department|entry):([0-9A-Za-z/]{1,60})\]\]")


def department_named(credit_code: str) -> str:
    """A department, named when shown."""
    return f"[[department:{credit_code}]]"


def entry_named(code: str) -> str:
    """A catalog entry, named (with its code) when shown."""
    return f"[[entry:{code}]]"


class Names:
    """Departments' and entries' names as far as the portal knows them; a code otherwise."""

    def __init__(self, departments: Mapping[str, str], entries: Mapping[str, str]) -> None:
        self.departments, self.entries = departments, entries

    @staticmethod
    def wanted(texts: Iterable[str]) -> tuple[set[str], set[str]]:
        """The departments and the entries `texts` name."""
        marks = [found.groups() for text in texts for found in MARK.finditer(text)]
        return ({code for kind, code in marks if kind == "department"},
                {code for kind, code in marks if kind == "entry"})

    def fill(self, text: str) -> str:
        """`text` with each department and entry named."""
        return MARK.sub(lambda found: self._name(*found.groups()), text)

    def _name(self, kind: str, code: str) -> str:
        if kind == "department":
            return self.departments.get(code, code)
        name = self.entries.get(code)
        return f"“{name}”（{code}）" if name else code


# --- requests (A2–A4) -------------------------------------------------------------------------


def request_submitted(request: RequestSnapshot) -> list[Draft]:
    """Only a request that waits for an answer asks anything of the provider."""
    if request.due_on is None or request.status != "submitted":
        return []
    return [_to_provider(
        request, NoticeKind.request_submitted, f"新的共享申请待答复：{request.entry_name}",
        f"{department_named(request.consumer)}申请共享“{request.entry_name}”，用途："
        f"{label(request.purpose, 'purpose')}。请于{cn_date(request.due_on)}前答复"
        "（逾期未答复计入本部门考核）。")]


def request_due_soon(request_id: uuid.UUID, provider: str, consumer: str, entry_name: str,
                     due_on: date, workdays_left: int) -> Draft:
    left = "今天到期" if workdays_left == 0 else f"还剩{workdays_left}个工作日"
    return Draft(NoticeKind.request_due_soon, provider, REVIEWER,
                 f"申请即将到期：{entry_name}（{left}）",
                 f"{department_named(consumer)}对“{entry_name}”的共享申请须于"
                 f"{cn_date(due_on)}前答复，{left}。", Pages.request(request_id))


def request_overdue(request: RequestSnapshot) -> list[Draft]:
    return [_to_provider(
        request, NoticeKind.request_overdue, f"申请已逾期未答复：{request.entry_name}",
        f"{department_named(request.consumer)}对“{request.entry_name}”的共享申请已超过答复"
        f"期限（{cn_date(request.due_on)}），已计入本部门考核。请尽快答复。")]


def request_answered(request: RequestSnapshot) -> list[Draft]:
    answer = request.answer
    if answer is None:
        return []
    provider = department_named(request.provider)
    if answer.approved:
        title, body = (f"共享申请已同意：{request.entry_name}",
                       f"{provider}同意了对“{request.entry_name}”的共享申请，授权已生成。")
    else:
        title, body = (f"共享申请被拒绝：{request.entry_name}",
                       f"{provider}拒绝了对“{request.entry_name}”的共享申请。理由：{answer.reason}"
                       "。如有异议，可发起协商。")
    return [_to_consumer(request, NoticeKind.request_answered, title, body)]


def negotiation_opened(request: RequestSnapshot) -> list[Draft]:
    return [_to_provider(
        request, NoticeKind.request_negotiation, f"申请方发起协商：{request.entry_name}",
        f"{department_named(request.consumer)}对拒绝共享“{request.entry_name}”发起协商，"
        "请在申请页面回复。")]


def message_posted(request: RequestSnapshot, sender: str, body: str) -> list[Draft]:
    """To the parties other than the sender (both, when an arbiter writes)."""
    who = "协调机构" if sender == "arbiter" else department_named(sender)
    excerpt = body if len(body) <= 200 else body[:200] + "…"
    return [Draft(NoticeKind.request_message, party, REVIEWER,
                  f"协商留言：{request.entry_name}", f"{who}留言：{excerpt}",
                  Pages.request(request.id))
            for party in (request.consumer, request.provider) if party != sender]


def request_escalated(request: RequestSnapshot) -> list[Draft]:
    escalation = request.escalation
    if escalation is None:
        return []
    body_name = ARBITER_BODIES.get(escalation.arbiter, escalation.arbiter)
    by = department_named(escalation.escalated_by)
    other = [Draft(NoticeKind.request_escalated, party, REVIEWER,
                   f"争议已提请协调：{request.entry_name}",
                   f"{by}将“{request.entry_name}”的共享争议提请{body_name}协调。理由："
                   f"{escalation.reason}", Pages.request(request.id))
             for party in (request.consumer, request.provider)
             if party != escalation.escalated_by]
    arbiters = Draft(NoticeKind.request_escalated, None, ARBITER,
                     f"待协调的共享争议：{request.entry_name}",
                     f"{department_named(request.consumer)}与{department_named(request.provider)}"
                     f"就“{request.entry_name}”的共享争议已提请{body_name}，请受理。",
                     Pages.case(request.id))
    return [*other, arbiters]


def request_decided(request: RequestSnapshot) -> list[Draft]:
    decision = request.decision
    if decision is None:
        return []
    outcome = "决定予以共享" if decision.grant else "决定不予共享"
    return [Draft(NoticeKind.request_decided, party, REVIEWER,
                  f"协调决定：{request.entry_name}",
                  f"协调机构对“{request.entry_name}”的共享争议{outcome}。理由：{decision.reason}",
                  Pages.request(request.id))
            for party in (request.consumer, request.provider)]


def request_withdrawn(request: RequestSnapshot, actor: str) -> list[Draft]:
    """The provider need not answer any more; the consumer hears of it only when the
    platform closed the request (the entry was withdrawn), not when it withdrew it itself."""
    drafts = [_to_provider(request, NoticeKind.request_withdrawn,
                           f"申请已撤回：{request.entry_name}",
                           f"{department_named(request.consumer)}对“{request.entry_name}”的"
                           "共享申请已撤回，无需再答复。")]
    if actor == "platform":
        drafts.append(_to_consumer(request, NoticeKind.request_withdrawn,
                                   f"申请已关闭：{request.entry_name}",
                                   f"对“{request.entry_name}”的共享申请已关闭："
                                   f"{request.closed_reason or '目录已撤销'}。"))
    return drafts


def _to_provider(request: RequestSnapshot, kind: NoticeKind, title: str, body: str) -> Draft:
    return Draft(kind, request.provider, REVIEWER, title, body, Pages.request(request.id))


def _to_consumer(request: RequestSnapshot, kind: NoticeKind, title: str, body: str) -> Draft:
    return Draft(kind, request.consumer, REVIEWER, title, body, Pages.request(request.id))


# --- grants -----------------------------------------------------------------------------------

# Event type → (kind, title, text, who hears of it): the consumer always, the provider when
# the grant's standing changes without its own act.
_GRANT_CHANGES: dict[str, tuple[NoticeKind, str, str, bool]] = {
    "share.grant.activated.v1": (NoticeKind.grant_changed, "授权已生效",
                                 "保密协议已确认，授权已生效，可以使用数据。", False),
    "share.grant.renewed.v1": (NoticeKind.grant_changed, "授权已续期", "授权已续期。", False),
    "share.grant.adjusted.v1": (NoticeKind.grant_changed, "授权范围已调整",
                                "目录的信息项有变化，授权只保留仍在目录中的信息项。", False),
    "share.grant.revoked.v1": (NoticeKind.grant_revoked, "授权已撤销",
                               "提供方撤销了授权，数据不再提供。", False),
    "share.grant.suspended.v1": (NoticeKind.grant_suspended, "授权已暂停",
                                 "所依据的保密协议已失效，授权暂停使用，续签协议并确认后恢复。",
                                 True),
    "share.grant.reinstated.v1": (NoticeKind.grant_reinstated, "授权已恢复",
                                  "续签的保密协议已确认，授权恢复使用。", True),
    "share.grant.expired.v1": (NoticeKind.grant_ended, "授权已到期",
                               "授权期限已满，数据不再提供；如仍需使用，请重新申请或请提供方续期。",
                               False),
    "share.grant.ended.v1": (NoticeKind.grant_ended, "授权已终止",
                             "目录已撤销或不再包含所授权的信息项，授权终止。", False),
}


def grant_issued(grant: GrantSnapshot) -> list[Draft]:
    waits = grant.status == "pending_agreement"
    body = (f"{department_named(grant.provider)}就{entry_named(grant.entry_code)}发放了共享授权，"
            f"有效期至{cn_date(grant.valid_until)}。")
    if waits:
        body += "该资源为敏感数据，双方签订并确认保密协议后方可使用。"
    return [Draft(NoticeKind.grant_issued, grant.consumer, REVIEWER,
                  f"已获得共享授权：{entry_named(grant.entry_code)}", body,
                  Pages.grant(grant.id))]


def grant_changed(event_type: str, grant: GrantSnapshot, reason: str | None) -> list[Draft]:
    change = _GRANT_CHANGES.get(event_type)
    if change is None:
        return []
    kind, title, text, provider_too = change
    body = f"{entry_named(grant.entry_code)}：{text}"
    if event_type == "share.grant.renewed.v1":
        body = f"{entry_named(grant.entry_code)}：授权已续期至{cn_date(grant.valid_until)}。"
    if reason:
        body += f"原因：{reason}"
    parties = (grant.consumer, grant.provider) if provider_too else (grant.consumer,)
    return [Draft(kind, party, REVIEWER, f"{title}：{entry_named(grant.entry_code)}", body,
                  Pages.grant(grant.id)) for party in parties]


def grant_expiring(grant_id: uuid.UUID, consumer: str, provider: str, entry_code: str,
                   valid_until: date) -> list[Draft]:
    entry = entry_named(entry_code)
    return [Draft(NoticeKind.grant_expiring, party, REVIEWER, f"授权即将到期：{entry}",
                  f"{department_named(consumer)}对{entry}的共享授权将于{cn_date(valid_until)}"
                  "到期。如需继续使用，请及时续期。", Pages.grant(grant_id))
            for party in (consumer, provider)]


# --- confidentiality agreements (A6) ------------------------------------------------------------


def agreement_changed(event_type: str, agreement: AgreementSnapshot) -> list[Draft]:
    entry = entry_named(agreement.entry_code)
    parties = (agreement.consumer, agreement.provider)
    link = Pages.agreement(agreement.id)
    if event_type == "share.agreement.proposed.v1":
        proposer = agreement.proposer
        return [Draft(NoticeKind.agreement_proposed, party, REVIEWER,
                      f"保密协议待确认：{entry}",
                      f"{department_named(proposer) if proposer else '对方'}提交了{entry}的保密协议"
                      f"（{agreement.reference}），请核对后确认。", link)
                for party in parties if party != proposer]
    if event_type == "share.agreement.confirmed.v1":
        until = f"，有效期至{cn_date(agreement.valid_until)}" if agreement.valid_until else ""
        return [Draft(NoticeKind.agreement_confirmed, party, REVIEWER,
                      f"保密协议已生效：{entry}",
                      f"{entry}的保密协议（{agreement.reference}）已由双方确认{until}。", link)
                for party in parties if party == agreement.proposer or not agreement.proposer]
    if event_type == "share.agreement.lapsed.v1":
        return [Draft(NoticeKind.agreement_lapsed, party, REVIEWER, f"保密协议已失效：{entry}",
                      f"{entry}的保密协议（{agreement.reference}）已过期，所涉授权暂停使用；"
                      "续签新协议并经双方确认后恢复。", link) for party in parties]
    return []


# --- data objections (异议) ---------------------------------------------------------------------


def objection_changed(event_type: str, objection: ObjectionSnapshot) -> list[Draft]:
    entry = entry_named(objection.entry_code)
    link = Pages.objection(objection.id)
    if event_type == "exchange.objection.raised.v1":
        return [Draft(NoticeKind.objection_raised, objection.provider, REVIEWER,
                      f"收到数据异议：{entry}",
                      f"{department_named(objection.consumer)}对{entry}的数据提出异议："
                      f"{objection.description}。请核实并答复。", link)]
    if event_type == "exchange.objection.verifying.v1":
        return [Draft(NoticeKind.objection_progress, objection.consumer, REVIEWER,
                      f"数据异议核实中：{entry}",
                      f"{department_named(objection.provider)}正在核实您对{entry}提出的异议。",
                      link)]
    if event_type == "exchange.objection.resolved.v1":
        return [Draft(NoticeKind.objection_progress, objection.consumer, REVIEWER,
                      f"数据异议已处理：{entry}",
                      f"{department_named(objection.provider)}已处理您对{entry}提出的异议："
                      f"{objection.resolution or '已办结'}。", link)]
    return []


# --- the catalog's flags (C7, freshness) --------------------------------------------------------


def entry_stale(stale: EntryStale) -> list[Draft]:
    return [Draft(NoticeKind.entry_stale, stale.provider, EDITOR,
                  f"数据更新滞后：{entry_named(stale.entry_code)}",
                  f"{entry_named(stale.entry_code)}应{label(stale.update_cycle, 'update_cycle')}"
                  "更新，已超过更新周期未更新，请尽快更新数据或核对目录的更新周期。",
                  Pages.entry(stale.entry_code))]


def duplicate_flagged(flag: DuplicateCollectionFlagged) -> list[Draft]:
    return [Draft(NoticeKind.duplicate_collection, flag.provider, EDITOR,
                  f"重复采集提示：{entry_named(flag.entry_code)}",
                  f"{entry_named(flag.entry_code)}采集了由"
                  f"{department_named(flag.responsible_department)}负责的信息项“{flag.item_name}”"
                  f"（{flag.item_code}）。请改为共享获取，或说明理由。",
                  Pages.entry(flag.entry_code))]


# --- the yearly evaluation (V2) -----------------------------------------------------------------

INDICATORS: dict[str, str] = {
    "catalog": "目录编制与更新", "provision": "数据提供与更新", "quality": "数据质量与异议处理",
    "responsiveness": "共享申请答复", "use": "共享数据使用", "collection": "重复采集",
    "purpose": "按用途使用数据",
}


def rectification_listed(listed: RectificationListed) -> list[Draft]:
    """To everyone of the department: rectifying is the department's, not one role's."""
    what = INDICATORS.get(listed.indicator, listed.indicator)
    return [Draft(NoticeKind.rectification, listed.department, None,
                  f"{listed.year}年度整改事项：{what}",
                  f"{listed.year}年度政务信息资源共享评价中，本部门“{what}”存在问题："
                  f"{listed.evidence}（{'、'.join(listed.points)}）。请于{cn_date(listed.deadline)}"
                  "前完成整改。", Pages.rectifications(listed.year))]
