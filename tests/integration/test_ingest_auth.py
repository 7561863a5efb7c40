"""Streamed ingest is authenticated (E1): through the real broker, only the entry's provider's
system, proving it sent each envelope, changes records. Whatever else reaches the ingest topic
is refused onto the rejection topic with its reason and sealed into the audit chain, and
stores nothing; a genuine envelope counts once however often it comes."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.database import identity_session
from services.authorization.node_keys import active_signing_key
from shared.contracts.exchange import IngestRecord, IngestRejected
from shared.events import EventEnvelope
from shared.tokens import SigningKey, generate_signing_key, issue_token, unverified_claims
from tests.conftest import Infrastructure
from tests.integration.conftest import (
    Party,
    bearer,
    cli_settings,
    find_event,
    new_party,
    publish,
)
from tests.integration.streaming import (
    SOURCE,
    StreamingSystem,
    produce,
    streaming_system,
)
from tests.integration.test_exchange import EXCHANGE, as_csv, people, person_entry, upload


async def entry_the_exchange_knows(gateway: httpx.AsyncClient, provider: Party) -> str:
    code = await publish(gateway, provider, person_entry())
    # A load succeeds once the exchange has the entry: records streamed now meet it.
    assert (await upload(gateway, provider, code, as_csv(people(1)))).status_code == 200
    return code


async def stored(exchange_db: AsyncEngine, code: str) -> dict[str, str]:
    """ID number → name of the entry's current records, read from the store itself."""
    async with exchange_db.connect() as connection:
        rows = await connection.execute(text(
            "SELECT data->>'GMSFHM', data->>'XM' FROM record "
            "WHERE entry_code = :code AND NOT deleted"), {"code": code})
        return {number: name for number, name in rows}


async def refusal_of(infrastructure: Infrastructure, envelope: EventEnvelope) -> EventEnvelope:
    return await find_event(infrastructure.bootstrap_servers, IngestRejected.event_type,
                            envelope.key, lambda found: found.data["ingest_id"] == str(envelope.id))


def resigned(system: StreamingSystem, key: SigningKey, ttl: int) -> StreamingSystem:
    """The same system with a token bearing its claims, signed by `key` for `ttl` seconds."""
    claims = {name: value for name, value in unverified_claims(system.token).items()
              if name not in ("iat", "exp", "jti")}
    return StreamingSystem(system.key, issue_token(key, claims, ttl))


async def node_signing_key(infrastructure: Infrastructure) -> SigningKey:
    async with identity_session(cli_settings(infrastructure),
                                infrastructure.database_url) as (session, _):
        key = await active_signing_key(session)
    assert key is not None
    return key


async def test_forged_envelopes_are_refused_answered_and_audited_and_store_nothing(
    gateway: httpx.AsyncClient, provider: Party, admin_token: str,
    infrastructure: Infrastructure, exchange_db: AsyncEngine
) -> None:
    code = await entry_the_exchange_knows(gateway, provider)
    genuine = await streaming_system(gateway, admin_token, provider)
    stranger = await streaming_system(gateway, admin_token,
                                      await new_party(gateway, admin_token))
    victims = people(4)
    forged = {
        "unauthenticated": EventEnvelope(
            type=IngestRecord.event_type, source=SOURCE, key=code,
            data=IngestRecord(entry_code=code, record=victims[0]).model_dump(mode="json")),
        # Another department's own system, valid in every way, for an entry not its own.
        "not_provider": stranger.envelope(code, victims[1]),
        # The provider's token, signed by the node, but expired.
        "proof_expired": resigned(genuine, await node_signing_key(infrastructure), -60)
        .envelope(code, victims[2]),
        # The provider's claims in a token signed by a key that is not the node's.
        "proof_invalid": resigned(genuine, generate_signing_key(), 900)
        .envelope(code, victims[3]),
    }
    await produce(infrastructure.bootstrap_servers, forged.values())

    for reason, envelope in forged.items():
        refusal = await refusal_of(infrastructure, envelope)
        assert refusal.data["code"] == reason, refusal.data
        assert refusal.data["entry_code"] == code and refusal.data["reason"]
    assert not {victim["GMSFHM"] for victim in victims} & set(await stored(exchange_db, code))

    verification = f"{EXCHANGE}/audit/verification"
    async with asyncio.timeout(30):  # the sealer has sealed the refusals into the chain
        while (report := (await gateway.get(verification, headers=bearer(admin_token))  # noqa: ASYNC110
                          ).json())["unsealed"]:
            await asyncio.sleep(0.2)
    assert report["valid"] is True, report
    trail = (await gateway.get(f"{EXCHANGE}/audit", headers=bearer(admin_token), params={
        "entry_code": code, "kind": "ingest"})).json()["items"]
    provider_system, stranger_system = (unverified_claims(system.token)["sub"]
                                        for system in (genuine, stranger))
    assert sorted((e["denied"], e["actor"], e["consumer"]) for e in trail) == sorted([
        ("unauthenticated", f"{SOURCE.node}/{SOURCE.service}", ""),
        ("not_provider", stranger_system, unverified_claims(stranger.token)["department"]),
        ("proof_expired", provider_system, provider["credit_code"]),  # who it claimed to be
        ("proof_invalid", provider_system, provider["credit_code"]),
    ])
    assert all(e["position"] and e["hash"] and e["provider"] == provider["credit_code"]
               and e["record_count"] == 0 for e in trail)
    # The provider sees in its own trail who tried to write into its entry.
    own = (await gateway.get(f"{EXCHANGE}/audit", headers=bearer(provider["token"]), params={
        "entry_code": code, "kind": "ingest"})).json()
    assert own["total"] == 4


async def test_a_proven_envelope_is_stored_once_however_often_it_comes(
    gateway: httpx.AsyncClient, provider: Party, admin_token: str,
    infrastructure: Infrastructure, exchange_db: AsyncEngine
) -> None:
    code = await entry_the_exchange_knows(gateway, provider)
    system = await streaming_system(gateway, admin_token, provider)
    renamed_person, copied_person, last = people(3)
    first = system.envelope(code, {**renamed_person, "XM": "张三"})
    renamed = system.envelope(code, {**renamed_person, "XM": "李四"})
    genuine = system.envelope(code, {**copied_person, "XM": "赵六"})
    # Someone who read `genuine` off the topic sends a changed copy under its id, first.
    tampered = genuine.model_copy(update={"data": {
        **genuine.data, "record": {**copied_person, "XM": "王五"}}})
    await produce(infrastructure.bootstrap_servers, [
        tampered, genuine, first, renamed, first, system.envelope(code, last)])

    async with asyncio.timeout(30):  # the last one sent is stored: all before it were read
        while last["GMSFHM"] not in (now := await stored(exchange_db, code)):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    # The replayed first envelope did not bring back the older name; the copy under the
    # genuine envelope's id was refused and did not make the genuine one a duplicate.
    assert now[renamed_person["GMSFHM"]] == "李四"
    assert now[copied_person["GMSFHM"]] == "赵六"
    assert (await refusal_of(infrastructure, tampered)).data["code"] == "proof_invalid"
