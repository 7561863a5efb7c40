"""Streaming records to the ingest topic as a department's system does (E1): with a key of
its own, a token bound to it (DPoP at /oauth/token), and a proof on every envelope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaProducer

from shared.contracts import Role
from shared.contracts.exchange import INGEST_TOPIC, IngestRecord
from shared.events import EventEnvelope, EventSource
from shared.ingest import ingest_envelope
from shared.proofs import dpop_proof
from shared.tokens import SigningKey, generate_signing_key
from tests.integration.conftest import Party, bearer

SOURCE = EventSource(node="provider-system", service="ingest")


@dataclass(frozen=True)
class StreamingSystem:
    """A department's system that streams: its key and the token bound to it."""

    key: SigningKey
    token: str

    def envelope(self, code: str, record: dict[str, str], *,
                 deleted: bool = False) -> EventEnvelope:
        return ingest_envelope(IngestRecord(entry_code=code, record=record, deleted=deleted),
                               key=self.key, access_token=self.token, source=SOURCE)

    async def stream(self, bootstrap_servers: str, code: str, records: list[dict[str, str]],
                     *, deleted: bool = False) -> list[EventEnvelope]:
        """Send records (or their deletions) on the ingest topic, each proven."""
        envelopes = [self.envelope(code, record, deleted=deleted) for record in records]
        await produce(bootstrap_servers, envelopes)
        return envelopes


async def streaming_system(gateway: httpx.AsyncClient, admin_token: str, party: Party,
                           *roles: str) -> StreamingSystem:
    """New client credentials for the party's department (data_operator unless `roles`),
    and a token bound to a fresh key, obtained as RFC 9449 says."""
    created = await gateway.post("/api/authorization/clients", headers=bearer(admin_token),
                                 json={"name": "人口库同步程序",
                                       "roles": list(roles or [Role.data_operator]),
                                       "department": party["credit_code"]})
    assert created.status_code == 201, created.text
    client, key = created.json(), generate_signing_key()
    url = str(gateway.base_url.join("/oauth/token"))
    issued = await gateway.post("/oauth/token", headers={"DPoP": dpop_proof(key, "POST", url)},
                                data={"grant_type": "client_credentials",
                                      "client_id": client["client_id"],
                                      "client_secret": client["client_secret"]})
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "DPoP"
    return StreamingSystem(key, issued.json()["access_token"])


async def produce(bootstrap_servers: str, envelopes: Iterable[EventEnvelope]) -> None:
    """Put envelopes on the ingest topic as they are, each keyed by its entry."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(INGEST_TOPIC, envelope.model_dump_json().encode(),
                                         key=envelope.key.encode())
    finally:
        await producer.stop()
