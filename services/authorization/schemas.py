"""Request and response bodies of the authorization API: identity, then sharing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from services.authorization.security_schemas import Networks, SecretValidDays
from shared.access import Denial
from shared.contracts import Role, Tier, Zone
from shared.contracts.catalog import EntryCode, PermittedUse, ShareMethod
from shared.contracts.sharing import (
    AgreementSnapshot,
    Arbiter,
    ItemCode,
    Reason,
    RequestSnapshot,
    RequestStatus,
    RowCondition,
)
from shared.contracts.values import NOT_BLANK, Day
from shared.identifiers import CreditCode, RegionCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                         pattern=NOT_BLANK)]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_.-]{2,63}$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeInit(Strict):
    name: Name = Field(description="Human name of the node, e.g. 南京市政务数据共享交换平台.")
    tier: Tier
    region_code: RegionCode
    zone: Zone


class NodePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    tier: Tier
    region_code: str
    zone: Zone
    is_local: bool
    created_at: datetime


class DepartmentBase(Strict):
    name: Name = Field(description="Official name, e.g. 南京市公安局.")
    tier: Tier
    region_code: RegionCode


class DepartmentCreate(DepartmentBase):
    credit_code: CreditCode


class DepartmentUpdate(Strict):
    name: Name | None = None
    tier: Tier | None = None
    region_code: RegionCode | None = None


class DepartmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    credit_code: str
    name: str
    tier: Tier
    region_code: str
    created_at: datetime
    updated_at: datetime


class ClientCreate(Strict):
    name: Name = Field(description="The system these credentials are for.")
    department: CreditCode
    roles: list[Role] = Field(default_factory=list, description="Roles the system acts in "
                              "(never node_admin or security_admin: administrators are staff).")
    allowed_networks: Networks = Field(default_factory=list)
    secret_valid_days: SecretValidDays


class ClientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    client_id: str
    name: str
    department: str
    roles: list[Role]
    allowed_networks: list[str]
    secret_expires_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret a rotation replaced still works, if it does.")
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class ClientWithSecret(ClientPublic):
    client_secret: str = Field(description="Shown once; only its hash is kept.")


class ClientRevoke(Strict):
    reason: Name


class UserCreate(Strict):
    username: Username
    display_name: Name
    department: CreditCode | None = Field(
        None, description="The user's department; none for the competent authority's admins."
    )
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=12, max_length=256)


class UserUpdate(Strict):
    roles: list[Role] | None = Field(None, min_length=1)
    disabled: StrictBool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str
    department: str | None
    roles: list[Role]
    disabled_at: datetime | None
    created_at: datetime


class Whoami(BaseModel):
    subject: str
    kind: str
    display_name: str | None = Field(
        None, description="A staff user's name (the pages they use show it); none for systems.")
    department: str | None
    department_name: str | None = Field(None, description="Its name, for a staff user.")
    roles: list[str]
    node: str
    expires_at: int


# --- Sharing ----------------------------------------------------------------------------------


class RequestCreate(Strict):
    """A department's request for a catalog entry's data (A1, A2; A3 for not-shared)."""

    entry_code: EntryCode = Field(description="信息资源代码 of the entry.",
                                  examples=["101001/000001"])
    legal_basis: Reason = Field(description="The duty or legal basis the use serves.",
                                examples=["《社会保险法》第五十八条：办理参保登记"])
    purpose: PermittedUse = Field(description="The use (C4); the entry must permit it.")
    items: list[ItemCode] = Field(min_length=1, max_length=500,
                                  description="Codes of the info items wanted.")
    methods: list[ShareMethod] = Field(min_length=1, max_length=4,
                                       description="How the data is to be delivered.")
    valid_until: Day = Field(description="Last day of use asked for (at most three years).")
    message: Reason | None = Field(None, description="A first message to the provider; "
                                   "for a not-shared resource, why the data is needed.")


class TermsNarrowing(Strict):
    """How an approval or a decision narrows what was asked for; empty fields keep it."""

    items: list[ItemCode] | None = Field(None, min_length=1, max_length=500,
                                         description="Fewer items than asked for.")
    row_filter: list[RowCondition] = Field(default_factory=list, max_length=20)
    rate_limit_per_minute: int | None = Field(None, ge=1, le=1_000_000)
    valid_until: Day | None = Field(None, description="An earlier end than asked for.")


class AnswerCreate(TermsNarrowing):
    """The provider's answer (A2)."""

    approve: StrictBool
    reason: str | None = Field(None, max_length=4000,
                               description="Mandatory, non-empty, when refusing.")


class DecisionCreate(TermsNarrowing):
    """The arbiter's final decision (A3)."""

    grant: StrictBool = Field(description="Whether the provider must share.")
    reason: Reason


class MessageCreate(Strict):
    body: Reason


class ReasonCreate(Strict):
    """A change that must say why: escalation, revocation."""

    reason: Reason


class WithdrawalCreate(Strict):
    reason: Reason | None = None


class RenewalCreate(Strict):
    valid_until: Day = Field(description="The new last day of the grant.")


class TransitionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: RequestStatus | None
    to_status: RequestStatus
    actor: str
    note: str | None
    at: datetime


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sender: str = Field(description="Credit code of the party, or `arbiter`.")
    author: str
    body: str
    posted_at: datetime


class RequestDetail(RequestSnapshot):
    """A request with its history and its negotiation."""

    transitions: list[TransitionPublic]
    messages: list[MessagePublic]


Sha256Hex = Annotated[str, StringConstraints(strip_whitespace=True,
                                              pattern=r"^[0-9a-fA-F]{64}$"),
                      AfterValidator(str.lower)]
"""A SHA-256 digest in hex, as `sha256sum` prints it; kept lower-case."""


class AgreementTerms(Strict):
    """What a confidentiality agreement (保密协议, A6) states: its document, its validity."""

    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=100, pattern=NOT_BLANK)] = Field(
        description="The agreement's document number.", examples=["宁数保〔2026〕17号"])
    document_sha256: Sha256Hex = Field(
        description="SHA-256 of the signed document (hex); the other party confirms the same.")
    signed_on: Day = Field(description="Day it was signed; not after today.")
    valid_until: Day = Field(description="Last day in force; not before today.")


class AgreementCreate(AgreementTerms):
    """A party proposes an agreement for one consumer and one entry; the other confirms."""

    consumer: CreditCode
    entry_code: EntryCode


class AgreementConfirmation(Strict):
    document_sha256: Sha256Hex = Field(
        description="SHA-256 of the confirming party's signed copy; must equal the proposal's.")


class AgreementPublic(AgreementSnapshot):
    activated_grants: list[uuid.UUID] = Field(
        default_factory=list, description="Grants the confirmation made active (A6).")
    reinstated_grants: list[uuid.UUID] = Field(
        default_factory=list, description="Suspended grants the confirmation reinstated.")


class ArbitrationSeatPublic(BaseModel):
    """A department that sits for an arbitration body: its arbiters decide there (A3)."""

    model_config = ConfigDict(from_attributes=True)
    body: Arbiter
    department: str
    designated_by: str
    designated_at: datetime


class AccessQueryCreate(Strict):
    """May the caller's department have these items of this entry for this purpose now?"""

    entry_code: EntryCode
    purpose: PermittedUse
    method: ShareMethod
    items: list[ItemCode] = Field(default_factory=list, max_length=500,
                                  description="Empty: every item the grant holds.")


class AccessDecisionPublic(BaseModel):
    allowed: bool
    denial: Denial | None = Field(description="The condition that failed, when refused.")
    detail: str
    grant_id: uuid.UUID | None
    items: list[str] = Field(description="The items the consumer receives.")
    row_filter: list[RowCondition]
    rate_limit_per_minute: int | None
