"""Who streamed a record (E1): only the entry's provider's system, proving it is, may.

An IngestRecord carries its sender's token, bound to the sender's key, and a signature by
that key over the envelope's id and the record (`shared.ingest`). The token is checked as the
API checks one: signed by a key this node publishes (so issued here: another node's keys are
not among them) and not expired. The signature must be by the token's key, for this token,
this envelope and this very record, and recent; the sender must be a system with the
data_operator role whose department provides the entry, the rule of a load through the API.
Whoever can write to the topic, or read a genuine envelope off it, can therefore change no
record: a refusal stores nothing, is answered on the rejection topic with its reason code,
and is written to the audit chain with who claimed to send it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange import audit
from services.exchange.models import Resource
from shared.consumer import forget_applied
from shared.contracts import Role
from shared.contracts.exchange import (
    INGEST_PROOF_TYPE,
    AccessKind,
    IngestProof,
    IngestRecord,
    IngestRefusal,
    IngestRejected,
)
from shared.events import EventSource
from shared.ingest import covered
from shared.outbox import Outbox
from shared.problems import Unauthorized
from shared.proofs import ProofError, open_proof, token_hash
from shared.tokens import PrincipalKind, TokenClaims, TokenVerifier, unverified_claims

# A sender's clock may run a little ahead of the node's.
FUTURE_SKEW_SECONDS = 60


@dataclass(frozen=True)
class Sender:
    """A system that sent a record: its client id and its department."""

    client: str
    department: str


class IngestRefused(Exception):
    """A streamed record refused for who sent it; `claimed` is who its token says, checked
    or not."""

    def __init__(self, code: IngestRefusal, detail: str, claimed: Sender) -> None:
        super().__init__(detail)
        self.code, self.detail, self.claimed = code, detail, claimed


class IngestGate:
    """Decides whether a streamed record comes from its entry's provider, and answers and
    audits a refusal."""

    def __init__(self, verifier: TokenVerifier, node: str, max_age_seconds: float) -> None:
        self.verifier, self.node, self.max_age = verifier, node, max_age_seconds

    async def sender_of(self, ingested: IngestRecord, ingest_id: uuid.UUID) -> Sender:
        """The system that proved sending `ingested` under `ingest_id`; IngestRefused
        otherwise (its provider is checked by `admit`)."""
        proof = ingested.proof
        if proof is None:
            raise IngestRefused(IngestRefusal.unauthenticated,
                                "The record carries no proof of who sent it.", Sender("", ""))
        claimed = _claimed(proof.access_token)
        claims = await self._token(proof.access_token, claimed)
        self._check_signature(proof, claims, ingested, ingest_id, claimed)
        if claims.kind != PrincipalKind.client or not claims.has_role(Role.data_operator):
            raise IngestRefused(IngestRefusal.not_operator, "Only a system with the "
                                "data_operator role streams records.", claimed)
        return Sender(claims.sub, claims.department or "")

    async def admit(self, resource: Resource | None, ingested: IngestRecord,
                    ingest_id: uuid.UUID) -> Sender:
        """The sender, when it may change the entry's records (a missing entry is the
        content's refusal, after the sender is known); IngestRefused otherwise."""
        sender = await self.sender_of(ingested, ingest_id)
        if resource is not None and resource.provider != sender.department:
            raise IngestRefused(IngestRefusal.not_provider, f"Department {sender.department} "
                                f"does not provide {resource.code}.", sender)
        return sender

    async def refuse(self, session: AsyncSession, outbox: Outbox, refused: IngestRefused, *,
                     ingested: IngestRecord, ingest_id: uuid.UUID, source: EventSource,
                     resource: Resource | None) -> None:
        """Answer the refusal on the rejection topic and append it to the audit chain, in
        the caller's transaction; nothing is stored and the entry's figures are untouched
        (a forger must not count against the provider)."""
        audit.record(session, audit.Access(
            kind=AccessKind.ingest, consumer=_clean(refused.claimed.department, 18),
            provider=resource.provider if resource else "", entry_code=ingested.entry_code,
            grant_id=None, purpose=None, items=(), record_count=0, denied=refused.code),
            actor=_clean(refused.claimed.client or f"{source.node}/{source.service}", 64),
            node=self.node)
        await outbox.add(session, ingested.entry_code, IngestRejected(
            ingest_id=ingest_id, entry_code=ingested.entry_code, reason=refused.detail,
            code=refused.code))
        # A forgery sent first under a genuine envelope's id (read off the topic) must not
        # make the genuine one a duplicate: the id may be applied when it comes again.
        await forget_applied(session, ingest_id)

    async def _token(self, token: str, claimed: Sender) -> TokenClaims:
        try:
            claims = await self.verifier.verify(token, bound=True)
        except Unauthorized as error:
            expired = error.extensions.get("reason") == "token_expired"
            raise IngestRefused(IngestRefusal.proof_expired if expired
                                else IngestRefusal.proof_invalid,
                                f"The access token: {error.detail}", claimed) from error
        except ValidationError as error:  # signed by the node, yet not a token of its own
            raise IngestRefused(IngestRefusal.proof_invalid,
                                "The access token is not one this node issues.",
                                claimed) from error
        if not claims.bound_key:
            raise IngestRefused(IngestRefusal.proof_invalid, "The access token is not bound "
                                "to a key: obtain it with a DPoP proof.", claimed)
        return claims

    def _check_signature(self, proof: IngestProof, claims: TokenClaims,
                         ingested: IngestRecord, ingest_id: uuid.UUID,
                         claimed: Sender) -> None:
        def refuse(detail: str, code: IngestRefusal = IngestRefusal.proof_invalid) -> NoReturn:
            raise IngestRefused(code, f"The signature {detail}.", claimed)

        try:
            signed, key = open_proof(proof.signature, INGEST_PROOF_TYPE)
        except ProofError as error:
            refuse(f"is not valid: {error}")
        if key != claims.bound_key:
            refuse("is by another key than the one the token is bound to")
        if signed.get("ath") != token_hash(proof.access_token):
            refuse("was made for another token")
        if signed.get("jti") != str(ingest_id):
            refuse("was made for another envelope")
        if {name: signed.get(name) for name in covered(ingested)} != covered(ingested):
            refuse("does not cover this record")
        issued = signed.get("iat")
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            refuse("has no time (iat)")
        age = time.time() - issued
        if age > self.max_age:
            refuse(f"is {int(age)} s old; at most {int(self.max_age)} s is accepted: send "
                   "the record again with a new proof", IngestRefusal.proof_expired)
        if age < -FUTURE_SKEW_SECONDS:
            refuse("is dated in the future")


def _claimed(token: str) -> Sender:
    claims = unverified_claims(token)
    return Sender(str(claims.get("sub") or ""), str(claims.get("department") or ""))


def _clean(claimed: str, length: int) -> str:
    """A claimed name as an audit column holds it: what a forger wrote may hold anything."""
    return claimed.replace("\x00", "")[:length]
