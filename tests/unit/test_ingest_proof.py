"""Who may stream a record (E1): proofs of possession, bound tokens and the exchange's gate."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.exchange import audit
from services.exchange.ingest_auth import IngestGate, IngestRefused, Sender
from services.exchange.models import AuditEntry, Resource
from shared.contracts.exchange import (
    INGEST_PROOF_TYPE,
    AccessKind,
    IngestProof,
    IngestRecord,
    IngestRefusal,
    IngestRejected,
)
from shared.events import EventSource
from shared.ingest import covered, ingest_envelope, prove
from shared.problems import Unauthorized
from shared.proofs import (
    ProofError,
    dpop_key,
    dpop_proof,
    open_proof,
    public_jwk,
    sign_proof,
    thumbprint,
    token_hash,
)
from shared.tokens import KeySet, SigningKey, TokenVerifier, generate_signing_key, issue_token
from tests import factories
from tests.unit.fakes import RecordingOutbox, RecordingSession

NODE = "320100-external"
PROVIDER = factories.credit_code()
ENTRY = "101001/000001"
TOKEN_URL = "https://gov.example/oauth/token"
SOURCE = EventSource(node="provider-system", service="ingest")


def operator(system: SigningKey, **changes: Any) -> dict[str, Any]:
    return {"iss": NODE, "node": NODE, "sub": "gsc_people", "kind": "client",
            "department": PROVIDER, "roles": ["data_operator"],
            "cnf": {"jkt": thumbprint(public_jwk(system))}, **changes}


class Node:
    """The node's signing key, the gate that trusts it, and a system holding its own key."""

    def __init__(self) -> None:
        self.key = generate_signing_key()
        self.system = generate_signing_key()
        self.loads = 0

        async def load() -> dict[str, Any]:
            self.loads += 1
            return {"keys": [self.key.public_jwk()]}

        self.verifier = TokenVerifier(KeySet(load, patient=False))
        self.gate = IngestGate(self.verifier, NODE, max_age_seconds=600)

    def token(self, ttl: int = 900, **changes: Any) -> str:
        return issue_token(self.key, operator(self.system, **changes), ttl)


class AuditingSession(RecordingSession):
    """A recording session that also keeps what the audit counts on commit."""

    def __init__(self) -> None:
        super().__init__()
        self.info: dict[str, Any] = {}


def person() -> IngestRecord:
    return IngestRecord(entry_code=ENTRY, record={"GMSFHM": factories.id_number(), "XM": "张伟"})


def resource(provider: str = PROVIDER) -> Resource:
    return Resource(code=ENTRY, provider=provider, name="人口", status="published", version=1,
                    update_cycle="realtime", items=[], key_items=["GMSFHM"])


def proven(node: Node, ingested: IngestRecord, *, token: str | None = None,
           key: SigningKey | None = None) -> tuple[IngestRecord, uuid.UUID]:
    envelope_id = uuid.uuid4()
    proof = prove(ingested, envelope_id, key=key or node.system,
                  access_token=token or node.token())
    return ingested.model_copy(update={"proof": proof}), envelope_id


async def refused(node: Node, ingested: IngestRecord, envelope_id: uuid.UUID,
                  provider: str = PROVIDER) -> IngestRefused:
    with pytest.raises(IngestRefused) as refusal:
        await node.gate.admit(resource(provider), ingested, envelope_id)
    return refusal.value


# --- DPoP at the token endpoint ----------------------------------------------------------------

def test_a_dpop_proof_for_the_token_endpoint_names_the_key_it_was_signed_with() -> None:
    system = generate_signing_key()
    proof = dpop_proof(system, "POST", TOKEN_URL)
    assert dpop_key(proof, method="POST", path="/oauth/token") == thumbprint(public_jwk(system))


@pytest.mark.parametrize("proof", [
    "", "not a jws", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    dpop_proof(generate_signing_key(), "GET", TOKEN_URL),
    dpop_proof(generate_signing_key(), "POST", "https://gov.example/auth/login"),
    sign_proof(generate_signing_key(), "dpop+jwt", {"jti": "1", "htm": "POST",
                                                    "htu": TOKEN_URL, "iat": 1_000_000}),
    sign_proof(generate_signing_key(), "JWT", {"jti": "1", "htm": "POST", "htu": TOKEN_URL,
                                               "iat": int(time.time())}),
], ids=["empty", "not a jws", "three dots", "no signature", "another method",
        "another address", "issued long ago", "not typed dpop"])  # the same on every worker
def test_a_token_request_proof_that_does_not_hold_is_refused(proof: str) -> None:
    with pytest.raises(ProofError):
        dpop_key(proof, method="POST", path="/oauth/token")


def test_a_proof_carrying_a_private_key_or_signed_by_another_key_is_refused() -> None:
    system, other = generate_signing_key(), generate_signing_key()
    header_key = {**public_jwk(system), "d": "x"}
    from jose import jws
    leaking = jws.sign({"a": 1}, system.private_pem, algorithm="ES256",
                       headers={"typ": "t", "jwk": header_key})
    lying = jws.sign({"a": 1}, other.private_pem, algorithm="ES256",
                     headers={"typ": "t", "jwk": public_jwk(system)})
    for proof in (leaking, lying):
        with pytest.raises(ProofError):
            open_proof(proof, "t")


# --- bound tokens -------------------------------------------------------------------------------

async def test_a_bound_token_is_refused_as_a_bearer_token() -> None:
    node = Node()
    with pytest.raises(Unauthorized) as refusal:
        await node.verifier.verify(node.token())
    assert refusal.value.extensions["reason"] == "token_bound"
    assert (await node.verifier.verify(node.token(), bound=True)).bound_key


async def test_made_up_key_ids_do_not_hold_an_impatient_verifier() -> None:
    node = Node()
    await node.verifier.verify(node.token(), bound=True)
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await node.verifier.verify(issue_token(generate_signing_key(),
                                                   operator(node.system), 60), bound=True)
    assert time.monotonic() - started < 0.5 and node.loads <= 2


# --- the exchange's gate ------------------------------------------------------------------------

async def test_the_providers_system_proving_the_record_is_admitted() -> None:
    node = Node()
    ingested, envelope_id = proven(node, person())
    assert await node.gate.admit(resource(), ingested, envelope_id) == Sender(
        "gsc_people", PROVIDER)


async def test_a_record_without_proof_is_unauthenticated() -> None:
    refusal = await refused(Node(), person(), uuid.uuid4())
    assert (refusal.code, refusal.claimed) == (IngestRefusal.unauthenticated, Sender("", ""))


@pytest.mark.parametrize(("token_changes", "ttl", "code"), [
    ({}, -1, IngestRefusal.proof_expired),
    ({"cnf": None}, 900, IngestRefusal.proof_invalid),
    ({"roles": ["catalog_editor"]}, 900, IngestRefusal.not_operator),
    ({"kind": "user"}, 900, IngestRefusal.not_operator),
    ({"department": factories.credit_code()}, 900, IngestRefusal.not_provider),
])
async def test_a_token_that_does_not_make_its_bearer_the_provider_is_refused(
    token_changes: dict[str, Any], ttl: int, code: IngestRefusal
) -> None:
    node = Node()
    token = node.token(ttl, **token_changes)
    ingested, envelope_id = proven(node, person(), token=token)
    refusal = await refused(node, ingested, envelope_id)
    assert refusal.code == code
    assert refusal.claimed.client == "gsc_people"  # who claimed it, checked or not


async def test_a_token_signed_by_a_key_that_is_not_the_nodes_is_refused() -> None:
    node = Node()
    forged = issue_token(generate_signing_key(), operator(node.system), 900)
    ingested, envelope_id = proven(node, person(), token=forged)
    assert (await refused(node, ingested, envelope_id)).code == IngestRefusal.proof_invalid


async def test_a_signature_by_another_key_than_the_tokens_is_refused() -> None:
    node = Node()
    ingested, envelope_id = proven(node, person(), key=generate_signing_key())
    assert (await refused(node, ingested, envelope_id)).code == IngestRefusal.proof_invalid


async def test_a_genuine_proof_moved_to_another_envelope_or_record_is_refused() -> None:
    node = Node()
    ingested, envelope_id = proven(node, person())
    other_record = ingested.model_copy(update={"record": {**ingested.record, "XM": "李娜"}})
    deletion = ingested.model_copy(update={"deleted": True})
    for forged, under in ((ingested, uuid.uuid4()), (other_record, envelope_id),
                          (deletion, envelope_id)):
        assert (await refused(node, forged, under)).code == IngestRefusal.proof_invalid


async def test_a_proof_for_another_token_is_refused() -> None:
    node = Node()
    ingested, envelope_id = proven(node, person())
    assert ingested.proof is not None
    other = ingested.proof.model_copy(update={"access_token": node.token(ttl=800)})
    moved = ingested.model_copy(update={"proof": other})
    assert (await refused(node, moved, envelope_id)).code == IngestRefusal.proof_invalid


@pytest.mark.parametrize(("age", "code"), [
    (601, IngestRefusal.proof_expired), (-3600, IngestRefusal.proof_invalid)])
async def test_a_proof_too_old_or_from_the_future_is_refused(
    age: int, code: IngestRefusal
) -> None:
    node = Node()
    record, envelope_id, token = person(), uuid.uuid4(), node.token()
    signature = sign_proof(node.system, INGEST_PROOF_TYPE, {
        "jti": str(envelope_id), "ath": token_hash(token), "iat": int(time.time()) - age,
        **covered(record)})
    ingested = record.model_copy(update={"proof": IngestProof(access_token=token,
                                                              signature=signature)})
    assert (await refused(node, ingested, envelope_id)).code == code


async def test_an_envelope_made_for_the_topic_carries_a_proof_the_gate_admits() -> None:
    node = Node()
    envelope = ingest_envelope(person(), key=node.system, access_token=node.token(),
                               source=SOURCE)
    ingested = IngestRecord.model_validate(envelope.data)
    assert envelope.key == ENTRY
    assert (await node.gate.admit(resource(), ingested, envelope.id)).department == PROVIDER


async def test_a_refusal_is_answered_audited_and_stores_nothing() -> None:
    node = Node()
    ingested, envelope_id = proven(node, person(), token=node.token(
        department=factories.credit_code()))
    refusal = await refused(node, ingested, envelope_id)
    session, outbox = AuditingSession(), RecordingOutbox()
    await node.gate.refuse(session, outbox, refusal, ingested=ingested, ingest_id=envelope_id,
                           source=SOURCE, resource=resource())
    [entry] = session.added
    assert isinstance(entry, AuditEntry)
    assert (entry.kind, entry.denied, entry.actor, entry.provider, entry.record_count) == (
        AccessKind.ingest, "not_provider", "gsc_people", PROVIDER, 0)
    [(key, rejected)] = outbox.events
    assert isinstance(rejected, IngestRejected) and key == ENTRY
    assert (rejected.ingest_id, rejected.code) == (envelope_id, IngestRefusal.not_provider)
    # Only the envelope id is let go (a genuine envelope under it may still come).
    assert session.tables() == ["processed_event"]


async def test_a_refusal_without_a_token_names_the_envelope_source_and_cleans_claims() -> None:
    node = Node()
    session, outbox = AuditingSession(), RecordingOutbox()
    claimed = Sender("x\x00" * 40, "9" * 40)
    await node.gate.refuse(session, outbox, IngestRefused(
        IngestRefusal.proof_invalid, "no", claimed), ingested=person(),
        ingest_id=uuid.uuid4(), source=SOURCE, resource=None)
    [entry] = session.added
    assert "\x00" not in entry.actor and len(entry.actor) <= 64 and len(entry.consumer) == 18
    await node.gate.refuse(session, outbox, IngestRefused(
        IngestRefusal.unauthenticated, "no", Sender("", "")), ingested=person(),
        ingest_id=uuid.uuid4(), source=SOURCE, resource=None)
    assert session.added[-1].actor == "provider-system/ingest"


def test_refused_ingest_never_counts_as_anyones_use_of_data() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    entries = [AuditEntry(kind=kind, consumer="c", provider="p", entry_code=ENTRY, purpose=None,
                          denied=denied, actor="a", record_count=0, at=at)
               for kind, denied in ((AccessKind.ingest, "not_provider"),
                                    (AccessKind.query, None))]
    assert [usage.kind for usage in audit._usage(entries)] == [AccessKind.query]
