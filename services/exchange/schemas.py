"""Request and response bodies of the exchange API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from shared.contracts.catalog import CODE_FRONT, CODE_NUMBER, EntryCode, ItemCode, PermittedUse
from shared.contracts.exchange import AccessKind, ObjectionSnapshot
from shared.contracts.values import NOT_BLANK

Front = Annotated[str, Path(pattern=CODE_FRONT, description="Front segment of the code.")]
Number = Annotated[str, Path(pattern=CODE_NUMBER, description="Six-digit back segment.")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000,
                                         pattern=NOT_BLANK)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rejection(BaseModel):
    line: int = Field(description="Line of the upload (the CSV header is line 1).")
    reason: str


LoadStatus = Literal["running", "completed", "interrupted", "refused"]


class LoadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    entry_code: str
    media_type: str
    status: LoadStatus = Field(description="running, completed, interrupted (cut short: it "
                               "keeps what it stored and resumes with `resume=<id>`) or "
                               "refused (nothing read: the header or entry did not fit).")
    accepted: int = Field(description="Rows stored (new or changed) or already identical.")
    rejected: int
    rejections: list[Rejection] = Field(description="The first 1,000 refused rows and why.")
    last_line: int = Field(description="Every line up to this one is stored or refused (the "
                           "CSV header is line 1; 0: none yet); a resume goes on after it.")
    loaded_by: str
    started_at: datetime
    finished_at: datetime | None


class SourceApiCredential(Strict):
    """One header the exchange sends with every call: an API key or a bearer token."""

    header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")] = Field(
        description="Header name, e.g. `Authorization` or `X-Api-Key`.",
        examples=["Authorization"])
    value: Annotated[str, StringConstraints(min_length=1, max_length=4096,
                                            pattern=r"^[\x20-\x7e]+$")] = Field(
        description="Header value (printable ASCII); kept sealed, never shown again.",
        examples=["Bearer 8f14e45fceea167a5a36dedd4bea2543"])


class SourceApiRegister(Strict):
    url_template: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")] = (
        Field(description="URL of the provider's own API with `{key}` where the key goes.",
              examples=["http://10.1.2.3/api/persons/{key}"]))
    credential: SourceApiCredential | None = Field(
        None, description="What the exchange presents to the API; none: it calls without. "
                          "A new registration replaces the credential with this one.")


class SourceApiPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entry_code: str
    url_template: str
    credential_header: str | None = Field(
        description="The header the exchange presents (its value is never shown).")
    registered_by: str
    registered_at: datetime


class QueryResult(BaseModel):
    entry_code: str
    key: list[str]
    record: dict[str, str | None] = Field(description="Only the items the grant allows.")
    grant_id: uuid.UUID


class SubscriptionCreate(Strict):
    entry_code: EntryCode
    purpose: PermittedUse
    items: list[ItemCode] = Field(default_factory=list, max_length=500,
                                  description="Empty: every item the grant holds.")
    delivery: Literal["kafka", "webhook"]
    webhook_url: AnyHttpUrl | None = Field(None, description="Where changes are POSTed.")
    from_beginning: StrictBool = Field(False, description="Deliver the records already stored too.")


class SubscriptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    entry_code: str
    purpose: PermittedUse
    items: list[str]
    delivery: str
    topic: str | None = Field(description="Kafka topic the changes go to (kafka delivery).")
    webhook_url: str | None
    cursor: int = Field(description="`seq` of the last change delivered.")
    status: str
    delivered: int
    failures: int = Field(description="Failed attempts in a row (0 when healthy).")
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(description="HMAC key of the webhook signature; shown only now.")


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: AccessKind
    consumer: str
    provider: str
    entry_code: str
    grant_id: uuid.UUID | None
    purpose: PermittedUse | None
    items: list[str]
    record_count: int
    denied: str | None = Field(description="The failed condition of a refused access.")
    actor: str
    node: str
    at: datetime
    position: int | None = Field(description="Place in the hash chain; empty until sealed.")
    hash: str | None
    subject_key: str | None = Field(
        None, description="Whose record an online query looked up: HMAC-SHA256 of its key "
                          "under the node's secret, never the key (POST "
                          "/audit/subject-searches finds them by key).")
    route: list[str] | None = Field(
        None, description="A department's call from another node: the nodes it came "
                          "through, its origin first, each hop checked (F5); `actor` is "
                          "`<origin node>/<user or system>`.")


class AnchorReportPublic(BaseModel):
    """The chain compared with its heads anchored outside this node's database."""

    parent: str | None = Field(description="The parent node holding this node's heads; none "
                                           "for a node with no parent.")
    archive: str | None = Field(description="The node's own append-only anchor file, where "
                                            "it holds heads.")
    checked: int = Field(description="Anchored heads compared with the chain.")
    mismatches: int = Field(description="Anchored heads the chain no longer has: the "
                                        "database was rewritten.")
    first_mismatch_position: int | None
    last_anchored_position: int | None = Field(description="Newest position anchored.")
    pending: int = Field(description="Sealed heads not anchored yet.")
    error: str | None = Field(description="Why an anchor could not be read, if so.")


class VerificationPublic(BaseModel):
    valid: bool
    sealed: int = Field(description="Entries verified in the chain.")
    unsealed: int = Field(description="Entries appended but not yet sealed.")
    head_hash: str
    broken_at_position: int | None
    broken_entry_id: int | None
    reason: str | None
    anchored: AnchorReportPublic


class SubjectSearch(Strict):
    """Whose record: the key values, as a query gives them."""

    key: list[Annotated[str, StringConstraints(min_length=1, max_length=200,
                                               pattern=NOT_BLANK)]] = Field(
        min_length=1, max_length=10, description="Values of the record's key items.")
    entry_code: EntryCode | None = Field(
        None, description="Only accesses to this entry; its key items clean the key as its "
                          "queries do. Without it, every entry's accesses to that key.")


class AnchorConflictPublic(BaseModel):
    """A child node offered another hash for a position of its chain anchored here."""

    model_config = ConfigDict(from_attributes=True)
    node: str
    position: int
    held_hash: str = Field(description="The hash anchored here first.")
    offered_hash: str
    offered_sealed_at: datetime
    first_at: datetime
    last_at: datetime
    attempts: int


class ObjectionCreate(Strict):
    entry_code: EntryCode
    key: list[Annotated[str, StringConstraints(min_length=1, max_length=200,
                                               pattern=NOT_BLANK)]] = Field(
        min_length=1, max_length=10, description="Values of the record's key items.")
    kind: Literal["doubtful", "wrong"]
    description: Text
    evidence: Text | None = Field(None, description="What shows the record is wrong.")


class ObjectionResolve(Strict):
    outcome: Literal["corrected", "confirmed"]
    resolution: Text
    correction: dict[ItemCode, Annotated[str, StringConstraints(max_length=4000)]] | None = (
        Field(None, description="Corrected values by item code (outcome corrected)."))


class ObjectionPublic(ObjectionSnapshot):
    pass


FreshnessState = Literal["fresh", "stale", "no_data", "no_cycle", "live"]


class FreshnessPublic(BaseModel):
    entry_code: str
    provider: str
    name: str
    update_cycle: str
    last_update: datetime | None
    due_by: datetime | None = Field(description="When it turns stale without a new load.")
    state: FreshnessState = Field(description=(
        "fresh: updated within its cycle (and some grace); stale: not; no_data: nothing "
        "loaded yet; no_cycle: data loaded, but the update cycle is `other`, which declares "
        "no period, so the entry is never stale; live: served from the provider's own API."))


class CrossCheckCreate(Strict):
    left_entry: EntryCode
    left_item: ItemCode
    right_entry: EntryCode
    right_item: ItemCode


class CrossCheckPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    left_entry: str
    left_item: str
    right_entry: str
    right_item: str
    compared: int = Field(description="Subjects present in both entries.")
    mismatched: int
    samples: list[dict[str, object]] = Field(description="Up to 100 mismatches.")
    run_by: str
    run_at: datetime


class UsefulnessCreate(Strict):
    entry_code: EntryCode
    rating: int = Field(ge=1, le=5, description="1 (useless) to 5 (fully served the duty).")
    comment: Text | None = None


class UsefulnessPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    entry_code: str
    consumer: str
    provider: str
    rating: int
    comment: str | None
    reported_by: str
    reported_at: datetime
