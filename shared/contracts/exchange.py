"""What the exchange service says about the data it carries (requirements §5).

The evaluation service judges freshness (E7), objections (E6) and use of shared data from
these events; providers that stream send `IngestRecord` envelopes to the ingest topic.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, StrictBool

from shared.contracts.catalog import EntryCode, PermittedUse
from shared.events import EventData

INGEST_TOPIC = "govshare.ingest.record"


INGEST_PROOF_TYPE = "govshare-ingest+jwt"


class IngestProof(BaseModel):
    """Who sends a streamed record, and that it is them (`shared.ingest` makes one)."""

    access_token: str = Field(description="The sending system's access token, bound to its "
                                          "key (obtained with a DPoP proof at /oauth/token).")
    signature: str = Field(description=f"A JWS of type {INGEST_PROOF_TYPE} signed by that "
                                       "key: the envelope id (jti), the token's hash (ath), "
                                       "when (iat), and the entry_code, record and deleted "
                                       "it covers.")


class IngestRecord(EventData):
    """One record a provider streams into the front-end store (E1): an upsert by the entry's
    key items, or a deletion. Send it as an EventEnvelope keyed by the entry code; the
    envelope id makes a resend harmless. Without a valid `proof` from the entry's provider it
    is refused."""

    event_type = "ingest.record.upserted.v1"
    entry_code: EntryCode  # shaped, so a refusal can name it wherever it is written
    record: dict[str, Any] = Field(description="Item code → value, as in a JSON Lines row.")
    deleted: StrictBool = False
    proof: IngestProof | None = None


class IngestRefusal(StrEnum):
    """Why a streamed record was refused: the sender (the first five) or the record."""

    unauthenticated = "unauthenticated"  # no proof
    proof_invalid = "proof_invalid"  # not the node's token, not its key, not this record
    proof_expired = "proof_expired"  # the token, or the proof, is too old
    not_operator = "not_operator"  # a valid sender without the data_operator role
    not_provider = "not_provider"  # a valid sender whose department does not provide it
    unknown_entry = "unknown_entry"
    invalid_record = "invalid_record"


class IngestRejected(EventData):
    """A streamed record the exchange refused, and why (read by the provider)."""

    event_type = "ingest.rejection.recorded.v1"
    ingest_id: uuid.UUID = Field(description="Id of the refused IngestRecord envelope.")
    entry_code: str
    reason: str
    code: IngestRefusal | None = Field(None, description="The reason, for machines; absent "
                                                         "from refusals made before it was.")


class AccessKind(StrEnum):
    query = "query"
    download = "download"
    delivery = "delivery"
    ingest = "ingest"  # a streamed record refused for its sender: audited, never a use
    open_data = "open_data"  # a public download of an open entry, by anyone (W2)


class RecordsLoaded(EventData):
    """A provider's load changed an entry's data: its last real update (E7). Said once per
    bulk load (a load cut short: for what it stored, and again for each resumed run), and
    for streamed ingest once per entry per freshness sweep, for the records that arrived
    since the previous one (`loaded_at` is the last accepted one's time)."""

    event_type = "exchange.entry.records_loaded.v1"
    entry_code: str
    provider: str
    accepted: int
    rejected: int
    loaded_at: datetime


class SourceApiRegistered(EventData):
    """The provider serves the entry from its own API (系统对接, E1): the platform has its
    data without any load."""

    event_type = "exchange.entry.source_api_registered.v1"
    entry_code: str
    provider: str
    registered_at: datetime


class CrossCheckCompleted(EventData):
    """Two entries holding an item for the same subjects were compared (多元校核, E7): how
    many subjects both hold and for how many the values differ, counted against both
    providers [51 §24(三)]. The differing records themselves stay in the exchange (they are
    people's data); `check_id` finds them there."""

    event_type = "exchange.crosscheck.completed.v1"
    check_id: uuid.UUID
    left_entry: str
    left_item: str
    left_provider: str
    right_entry: str
    right_item: str
    right_provider: str
    compared: int = Field(description="Subjects both entries hold.")
    mismatched: int = Field(description="…of them with different values.")
    run_at: datetime


class EntryStale(EventData):
    """The entry was not updated within its declared cycle (E7) [51 §13]."""

    event_type = "exchange.entry.stale.v1"
    entry_code: str
    provider: str
    update_cycle: str
    last_update: datetime | None
    detected_at: datetime


class UsageCount(BaseModel):
    """Accesses of one kind by one consumer to one entry within a sealed batch."""

    consumer: str
    provider: str
    entry_code: str
    kind: AccessKind
    purpose: PermittedUse | None
    denied: str | None = Field(description="The failed condition of refused accesses.")
    accesses: int
    records: int
    actor: str | None = Field(
        None, description="The user or client (a department's information system) that made "
                          "the accesses; the evaluation counts a system's use by it (V3).")
    day: date | None = Field(None, description="China Standard Time date of the accesses, so "
                                               "each counts in the period it happened.")


class AuditSealed(EventData):
    """A batch of audit entries was sealed into the hash chain (E5). The head hash travels
    beyond the node's database, so rewriting the chain afterwards shows; the usage counts
    feed the evaluation of who used whose data, and who tried beyond a grant."""

    event_type = "exchange.audit.sealed.v1"
    first_position: int
    last_position: int
    head_hash: str
    usage: list[UsageCount]
    sealed_at: datetime


class ObjectionStatus(StrEnum):
    raised = "raised"
    verifying = "verifying"
    corrected = "corrected"
    confirmed = "confirmed"


class ObjectionSnapshot(BaseModel):
    id: uuid.UUID
    entry_code: str
    record_key: list[str]
    consumer: str
    provider: str
    kind: str
    description: str
    evidence: str | None
    status: ObjectionStatus
    raised_at: datetime
    verifying_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    correction: dict[str, str] | None
    version: int


class ObjectionEvent(EventData):
    objection: ObjectionSnapshot
    actor: str


class ObjectionRaised(ObjectionEvent):
    event_type = "exchange.objection.raised.v1"


class ObjectionVerifying(ObjectionEvent):
    event_type = "exchange.objection.verifying.v1"


class ObjectionResolved(ObjectionEvent):
    event_type = "exchange.objection.resolved.v1"
