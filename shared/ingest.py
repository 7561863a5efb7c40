"""Streaming a record to the ingest topic as the exchange accepts it (E1): proven by its sender.

A department's system holds a P-256 key of its own (`shared.tokens.generate_signing_key`),
obtains a token bound to it (`POST /oauth/token` with `DPoP: dpop_proof(key, "POST", url)`),
and sends each record in `ingest_envelope`: the token, and a signature by the key over the
envelope's id and the record. Whoever reads the topic sees both, and can make neither a new
proof nor a bearer call with the token (a bound token is refused as a bearer).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.contracts.exchange import INGEST_PROOF_TYPE, IngestProof, IngestRecord
from shared.events import EventEnvelope, EventSource
from shared.proofs import sign_proof, token_hash
from shared.tokens import SigningKey


def covered(ingested: IngestRecord) -> dict[str, Any]:
    """What an ingest proof vouches for: the record as the exchange will store it."""
    return {"entry_code": ingested.entry_code, "record": ingested.record,
            "deleted": ingested.deleted}


def prove(ingested: IngestRecord, envelope_id: uuid.UUID, *, key: SigningKey,
          access_token: str) -> IngestProof:
    """The proof that the holder of `key` and `access_token` sends this record under this
    envelope id, now."""
    return IngestProof(access_token=access_token, signature=sign_proof(
        key, INGEST_PROOF_TYPE, {"jti": str(envelope_id), "ath": token_hash(access_token),
                                 "iat": int(time.time()), **covered(ingested)}))


def ingest_envelope(ingested: IngestRecord, *, key: SigningKey, access_token: str,
                    source: EventSource) -> EventEnvelope:
    """The envelope to produce to `INGEST_TOPIC`, keyed by the entry code, with its proof.
    Send it again as it is to retry: the exchange applies an envelope id once."""
    envelope_id = uuid.uuid4()
    proven = ingested.model_copy(update={"proof": prove(
        ingested, envelope_id, key=key, access_token=access_token)})
    return EventEnvelope(id=envelope_id, type=IngestRecord.event_type, source=source,
                         key=ingested.entry_code, data=proven.model_dump(mode="json"))
