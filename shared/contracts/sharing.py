"""Requests and grants as every service sees them (requirements §4).

The snapshots are both the authorization API's responses and the payloads of its events, so
the exchange service can authorize every data access from events alone, and the evaluation
service can judge deadlines without calling back. Each snapshot carries a `version`, one
higher on every change, so a consumer keeps the newest and ignores a late older one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.catalog import ItemCode, PermittedUse, ShareMethod, ShareType
from shared.contracts.values import NOT_BLANK
from shared.events import EventData
from shared.workdays import Basis

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000,
                                           pattern=NOT_BLANK)]


class RequestStatus(StrEnum):
    """Where a request stands; `services/authorization/requests.py` holds the transitions."""

    submitted = "submitted"  # waiting for the provider's answer, within the deadline
    overdue = "overdue"  # unanswered past its due date: counts against the provider (A4)
    approved = "approved"  # a grant was issued (A1 at once, A2 on the provider's answer)
    rejected = "rejected"  # refused with a reason; the consumer may negotiate (A3)
    negotiating = "negotiating"  # the two departments talk it over (A3)
    escalated = "escalated"  # before the competent authority or coordinating body (A3)
    decided = "decided"  # the arbiter's final decision (A3)
    withdrawn = "withdrawn"  # by the consumer, or closed because the entry was withdrawn


class Arbiter(StrEnum):
    """Who settles an unresolved negotiation [51 §12, JS §16]."""

    competent_authority = "competent_authority"  # 本级政务信息资源共享主管部门
    coordinating_body = "coordinating_body"  # 联席会议 (central) / 领导小组 (provincial)


class RowCondition(BaseModel):
    """One condition every row given to the consumer must meet."""

    model_config = ConfigDict(extra="forbid")
    item: ItemCode = Field(description="Code of the info item the condition tests.")
    op: Literal["in", "prefix"] = Field(
        description="`in`: the value is one of `values`; `prefix`: it starts with one of them "
                    "(e.g. ID numbers of one region).")
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=200,
                                                  pattern=NOT_BLANK)]] = Field(
        min_length=1, max_length=1000)


class AccessTerms(BaseModel):
    """What a grant allows: the provider's approval may narrow what was asked for."""

    model_config = ConfigDict(extra="forbid")
    items: list[ItemCode] = Field(min_length=1, max_length=500,
                                  description="Info items the consumer may receive.")
    row_filter: list[RowCondition] = Field(
        default_factory=list, max_length=20,
        description="Conditions every delivered row meets (all of them); empty: every row.")
    rate_limit_per_minute: int | None = Field(
        None, ge=1, le=1_000_000, description="Queries per minute; empty: the node's default.")
    valid_until: date = Field(description="Last day of the grant (China Standard Time).")


class Answer(BaseModel):
    """The provider's answer to a conditional request (A2)."""

    approved: bool
    reason: str | None = Field(description="Why, mandatory when refused.")
    answered_by: str
    answered_at: datetime
    late: bool = Field(description="Answered after the due date (A4).")


class Escalation(BaseModel):
    arbiter: Arbiter
    escalated_by: str = Field(description="Credit code of the party that escalated.")
    reason: str
    escalated_at: datetime


class ArbiterDecision(BaseModel):
    grant: bool = Field(description="Whether the arbiter orders the data shared.")
    reason: str
    decided_by: str
    decided_at: datetime


class RequestSnapshot(BaseModel):
    """A request for a catalog entry's data, as stored."""

    id: uuid.UUID
    node: str = Field(description="Node the request was filed on (the provider's).")
    consumer: str = Field(description="Credit code of the requesting department.")
    provider: str = Field(description="Credit code of the providing department.")
    entry_code: str
    entry_name: str
    share_type: ShareType = Field(
        description="The path the request takes: the most restrictive share type of the "
                    "entry and of the items asked for.")
    legal_basis: str = Field(description="The duty or legal basis the consumer relies on.")
    purpose: PermittedUse
    items: list[str]
    methods: list[ShareMethod]
    valid_until: date = Field(description="Last day of use the consumer asked for.")
    status: RequestStatus
    version: int
    submitted_by: str
    submitted_at: datetime
    due_on: date | None = Field(
        description="Last working day for the provider's answer; empty when no answer is "
                    "owed (unconditional or not-shared resources).")
    calendar_basis: list[Basis] = Field(
        description="Where the working days of the deadline came from (a loaded schedule, "
                    "the library, or the Monday–Friday fallback).")
    answer: Answer | None = None
    escalation: Escalation | None = None
    decision: ArbiterDecision | None = None
    terms: AccessTerms | None = Field(None, description="Terms of the grant, once granted.")
    grant_id: uuid.UUID | None = None
    closed_reason: str | None = Field(None, description="Why the request was withdrawn.")


class GrantStatus(StrEnum):
    pending_agreement = "pending_agreement"  # sensitive: waits for the 保密协议 (A6)
    active = "active"
    revoked = "revoked"
    expired = "expired"
    ended = "ended"  # the entry was withdrawn, or narrowed to nothing this grant held
    # Its confidentiality agreement lapsed: refused until a renewed one is confirmed (A6).
    suspended = "suspended"


class GrantSnapshot(BaseModel):
    """A consumer's right to one entry's data: bound to consumer, items, purpose, period."""

    id: uuid.UUID
    node: str
    request_id: uuid.UUID
    consumer: str
    provider: str
    entry_code: str
    purpose: PermittedUse
    methods: list[ShareMethod]
    items: list[str]
    row_filter: list[RowCondition]
    rate_limit_per_minute: int | None
    valid_from: date
    valid_until: date
    expires_at: datetime = Field(description="End of `valid_until` in China Standard Time.")
    sensitive: bool
    agreement_ends_at: datetime | None = Field(
        None, description="A sensitive grant: end of the last day of the confidentiality "
                          "agreement it rests on (A6); from then on it is refused as "
                          "suspended, whether or not the lapse has been swept yet.")
    status: GrantStatus
    status_reason: str | None = None
    version: int
    issued_at: datetime


class RequestEvent(EventData):
    request: RequestSnapshot
    actor: str = Field(description="Who caused the change (user, client or `platform`).")


class RequestSubmitted(RequestEvent):
    event_type = "share.request.submitted.v1"


class RequestAnswered(RequestEvent):
    event_type = "share.request.answered.v1"


class RequestOverdue(RequestEvent):
    """The reminder to the provider: the answer is late and counts against it (A4)."""

    event_type = "share.request.overdue.v1"


class NegotiationOpened(RequestEvent):
    event_type = "share.request.negotiation_opened.v1"


class RequestMessagePosted(RequestEvent):
    event_type = "share.request.message_posted.v1"
    sender: str = Field(description="Credit code of the party, or `arbiter`.")
    body: str


class RequestEscalated(RequestEvent):
    event_type = "share.request.escalated.v1"


class RequestDecided(RequestEvent):
    event_type = "share.request.decided.v1"


class RequestWithdrawn(RequestEvent):
    event_type = "share.request.withdrawn.v1"


class GrantEvent(EventData):
    grant: GrantSnapshot
    actor: str
    reason: str | None = None


class GrantIssued(GrantEvent):
    event_type = "share.grant.issued.v1"


class GrantActivated(GrantEvent):
    """A confidentiality agreement was confirmed for a grant that waited for one (A6)."""

    event_type = "share.grant.activated.v1"


class GrantRevoked(GrantEvent):
    event_type = "share.grant.revoked.v1"


class GrantExpired(GrantEvent):
    event_type = "share.grant.expired.v1"


class GrantRenewed(GrantEvent):
    event_type = "share.grant.renewed.v1"


class GrantAdjusted(GrantEvent):
    """The grant's terms changed, not its state: the entry narrowed its items (the grant
    keeps only those still catalogued), or a renewed confidentiality agreement covers it
    for longer (A6)."""

    event_type = "share.grant.adjusted.v1"


class GrantEnded(GrantEvent):
    event_type = "share.grant.ended.v1"


class GrantSuspended(GrantEvent):
    """The confidentiality agreement covering the grant lapsed (A6); the notice to both
    departments, and to the exchange, which stops serving the grant."""

    event_type = "share.grant.suspended.v1"


class GrantReinstated(GrantEvent):
    """A renewed confidentiality agreement was confirmed: the suspended grant serves again."""

    event_type = "share.grant.reinstated.v1"


REQUEST_EVENTS: tuple[type[RequestEvent], ...] = (
    RequestSubmitted, RequestAnswered, RequestOverdue, NegotiationOpened, RequestMessagePosted,
    RequestEscalated, RequestDecided, RequestWithdrawn)

GRANT_EVENTS: tuple[type[GrantEvent], ...] = (
    GrantIssued, GrantActivated, GrantRevoked, GrantExpired, GrantRenewed, GrantAdjusted,
    GrantEnded, GrantSuspended, GrantReinstated)


class AgreementStatus(StrEnum):
    """Where a confidentiality agreement stands (A6); only one in force covers grants."""

    proposed = "proposed"  # filed by one party, waiting for the other's confirmation
    in_force = "in_force"  # confirmed by both parties, within its validity
    lapsed = "lapsed"  # its last day passed: the grants it covered are suspended
    superseded = "superseded"  # a later agreement for the same consumer and entry took over


class AgreementSnapshot(BaseModel):
    """A security and confidentiality agreement (保密协议) between a consumer and the
    provider of one entry, as stored [BJ 三(五)]."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    consumer: str
    provider: str
    entry_code: str
    reference: str = Field(description="The agreement's document number.")
    document_sha256: str | None = Field(
        description="SHA-256 of the signed document (lower-case hex); empty only on "
                    "agreements filed before both parties had to confirm them.")
    signed_on: date
    valid_until: date | None = Field(description="Last day in force (China Standard Time).")
    status: AgreementStatus
    version: int
    proposer: str | None = Field(description="Credit code of the party that proposed it.")
    proposed_by: str
    proposed_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    supersedes: uuid.UUID | None = Field(None, description="The agreement this one replaced.")
    lapsed_at: datetime | None = None


class AgreementEvent(EventData):
    agreement: AgreementSnapshot
    actor: str


class AgreementProposed(AgreementEvent):
    """The notice to the other party that an agreement waits for its confirmation."""

    event_type = "share.agreement.proposed.v1"


class AgreementConfirmed(AgreementEvent):
    event_type = "share.agreement.confirmed.v1"


class AgreementLapsed(AgreementEvent):
    event_type = "share.agreement.lapsed.v1"


class AgreementSuperseded(AgreementEvent):
    event_type = "share.agreement.superseded.v1"


AGREEMENT_EVENTS: tuple[type[AgreementEvent], ...] = (
    AgreementProposed, AgreementConfirmed, AgreementLapsed, AgreementSuperseded)
