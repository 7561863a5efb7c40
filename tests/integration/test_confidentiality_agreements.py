"""Confidentiality agreements (保密协议, A6) through the gateway of a running node: one party
proposes, the other confirms the same signed document, and only then does a sensitive grant
serve; the agreement lapses on the node's clock, the exchange stops serving the grant, and a
renewed agreement brings it back.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    DECISIONS,
    GRANTS,
    NodeClock,
    Party,
    application,
    bearer,
    eventually,
    find_event,
    new_party,
    publish,
    submit,
)
from tests.integration.test_exchange import (
    as_csv,
    people,
    person_entry,
    query,
    until_denial,
    upload,
)

AGREEMENTS = "/api/authorization/agreements"


def signed(today: date, *, days: int = 365, reference: str | None = None
           ) -> dict[str, object]:
    """The terms of an agreement signed today, with the hash of its scanned document."""
    reference = reference or f"宁数保〔2026〕{random.randint(1, 99_999)}号"
    document = f"{reference} 保密协议正文（双方签章）".encode()
    return {"reference": reference, "document_sha256": hashlib.sha256(document).hexdigest(),
            "signed_on": today.isoformat(), "valid_until": (today + timedelta(days=days)
                                                            ).isoformat()}


async def sensitive_grant(gateway: httpx.AsyncClient, provider: Party, consumer: Party
                          ) -> tuple[str, str, dict[str, str]]:
    """A sensitive entry loaded with people and granted to `consumer` (pending its
    agreement): the entry code, the grant id and a row to query."""
    code = await publish(gateway, provider, person_entry(sensitive=True))
    rows = people(2)
    assert (await upload(gateway, provider, code, as_csv(rows))).status_code == 200
    filed = await submit(gateway, consumer, application(code, items=["XM", "GMSFHM"]))
    assert filed.status_code == 201, filed.text
    return code, filed.json()["grant_id"], rows[0]


async def propose(gateway: httpx.AsyncClient, party: Party, consumer: Party, code: str,
                  terms: dict[str, object]) -> httpx.Response:
    return await gateway.post(AGREEMENTS, headers=bearer(party["token"]), json={
        "consumer": consumer["credit_code"], "entry_code": code, **terms})


async def confirm(gateway: httpx.AsyncClient, party: Party, agreement_id: str,
                  document_sha256: object) -> httpx.Response:
    return await gateway.post(f"{AGREEMENTS}/{agreement_id}/confirmation",
                              headers=bearer(party["token"]),
                              json={"document_sha256": document_sha256})


async def decision(gateway: httpx.AsyncClient, party: Party, code: str) -> dict[str, object]:
    response = await gateway.post(DECISIONS, headers=bearer(party["token"]), json={
        "entry_code": code, "purpose": "data_verification", "method": "online_query"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_consumers_proposal_alone_activates_nothing_the_providers_confirmation_does(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    clock: NodeClock, infrastructure: Infrastructure
) -> None:
    code, grant_id, _ = await sensitive_grant(gateway, provider, consumer)
    terms = signed(clock.today())
    proposed = await propose(gateway, consumer, consumer, code, terms)
    assert proposed.status_code == 201, proposed.text
    agreement = proposed.json()
    assert (agreement["status"], agreement["proposer"], agreement["activated_grants"]) == (
        "proposed", consumer["credit_code"], [])
    assert (await decision(gateway, consumer, code))["denial"] == "grant_not_active"
    notice = await find_event(infrastructure.bootstrap_servers, "share.agreement.proposed.v1",
                              agreement["id"])
    assert notice.data["agreement"]["provider"] == provider["credit_code"]

    own = await confirm(gateway, consumer, agreement["id"], terms["document_sha256"])
    assert (own.status_code, own.json()["reason"]) == (403, "proposer")
    outsider = await new_party(gateway, admin_token)
    hidden = await confirm(gateway, outsider, agreement["id"], terms["document_sha256"])
    assert hidden.status_code == 404
    other_document = await confirm(gateway, provider, agreement["id"],
                                   hashlib.sha256(b"another text").hexdigest())
    assert (other_document.status_code, other_document.json()["field"]) == (
        422, "document_sha256")
    grant = (await gateway.get(f"{GRANTS}/{grant_id}", headers=bearer(consumer["token"]))).json()
    assert grant["status"] == "pending_agreement"

    confirmed = await confirm(gateway, provider, agreement["id"],
                              str(terms["document_sha256"]).upper())
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["activated_grants"]) == (
        "in_force", [grant_id])
    assert (await decision(gateway, consumer, code))["allowed"] is True
    await find_event(infrastructure.bootstrap_servers, "share.grant.activated.v1", grant_id)
    twice = await confirm(gateway, provider, agreement["id"], terms["document_sha256"])
    assert (twice.status_code, twice.json()["current_state"]) == (409, "in_force")


async def served_for_30_days(gateway: httpx.AsyncClient, provider: Party, consumer: Party,
                             clock: NodeClock) -> tuple[str, str, dict[str, str],
                                                        dict[str, Any], dict[str, object]]:
    """A sensitive grant the exchange serves on a 30-day agreement both parties signed: the
    entry's code, the grant's id, a row, the agreement and its terms."""
    code, grant_id, row = await sensitive_grant(gateway, provider, consumer)
    terms = signed(clock.today(), days=30)
    agreement = (await propose(gateway, provider, consumer, code, terms)).json()
    assert (await confirm(gateway, consumer, agreement["id"], terms["document_sha256"])
            ).status_code == 200
    await until_denial(gateway, consumer, code, row["GMSFHM"], None)  # the exchange serves it
    return code, grant_id, row, agreement, terms


async def test_a_lapsed_agreement_suspends_the_grant_at_the_exchange_until_a_renewal_is_confirmed(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, clock: NodeClock,
    infrastructure: Infrastructure
) -> None:
    code, grant_id, row, first, terms = await served_for_30_days(gateway, provider, consumer,
                                                                 clock)

    await clock.advance(days=32)  # the agreement's last day is over

    lapsed = await eventually(gateway, consumer, f"{AGREEMENTS}/{first['id']}", "status",
                              "lapsed")
    assert lapsed["lapsed_at"] is not None
    suspended = await eventually(gateway, consumer, f"{GRANTS}/{grant_id}", "status",
                                 "suspended")
    assert terms["reference"] in str(suspended["status_reason"])
    refused = await until_denial(gateway, consumer, code, row["GMSFHM"], "grant_not_active")
    assert "suspended" in refused.json()["detail"]
    notice = await find_event(infrastructure.bootstrap_servers, "share.grant.suspended.v1",
                              grant_id)
    assert (notice.data["grant"]["consumer"], notice.data["grant"]["provider"],
            notice.data["actor"]) == (consumer["credit_code"], provider["credit_code"],
                                      "platform")
    await find_event(infrastructure.bootstrap_servers, "share.agreement.lapsed.v1",
                     first["id"])

    renewed_terms = signed(clock.today())
    renewal = await gateway.post(f"{AGREEMENTS}/{first['id']}/renewal", json=renewed_terms,
                                 headers=bearer(consumer["token"]))
    assert renewal.status_code == 201, renewal.text
    assert (renewal.json()["status"], renewal.json()["consumer"]) == (
        "proposed", consumer["credit_code"])
    assert (await query(gateway, consumer, code, row["GMSFHM"])).status_code == 403
    confirmed = await confirm(gateway, provider, renewal.json()["id"],
                              renewed_terms["document_sha256"])
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["reinstated_grants"], confirmed.json()["supersedes"]) == (
        [grant_id], first["id"])
    await until_denial(gateway, consumer, code, row["GMSFHM"], None)
    await find_event(infrastructure.bootstrap_servers, "share.grant.reinstated.v1", grant_id)
    old = await gateway.get(f"{AGREEMENTS}/{first['id']}", headers=bearer(provider["token"]))
    assert old.json()["status"] == "superseded"
    listed = await gateway.get(AGREEMENTS, params={"entry_code": code, "status": "in_force"},
                               headers=bearer(provider["token"]))
    assert [a["id"] for a in listed.json()["items"]] == [renewal.json()["id"]]


async def exchange_holds(node: RunningNode, grant_id: str, version: int) -> None:
    """Wait until the exchange decides on `version` of the grant (it learns it by event)."""
    async with httpx.AsyncClient(base_url=node.service_urls["exchange"]) as exchange, \
            asyncio.timeout(30):
        # Another process's state, reached by event: there is nothing here to await.
        while (await exchange.get(f"/internal/grants/{grant_id}")).json()["version"] != version:  # noqa: ASYNC110
            await asyncio.sleep(0.2)


async def test_an_agreement_renewed_before_it_lapses_keeps_the_grant_served_past_its_old_end(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, clock: NodeClock,
    infrastructure: Infrastructure, node: RunningNode
) -> None:
    code, grant_id, row, first, _ = await served_for_30_days(gateway, provider, consumer,
                                                             clock)

    renewed_terms = signed(clock.today(), days=365)
    renewal = await gateway.post(f"{AGREEMENTS}/{first['id']}/renewal", json=renewed_terms,
                                 headers=bearer(consumer["token"]))
    assert (await confirm(gateway, provider, renewal.json()["id"],
                          renewed_terms["document_sha256"])).status_code == 200
    adjusted = await find_event(infrastructure.bootstrap_servers, "share.grant.adjusted.v1",
                                grant_id)
    # The end of its last day in China Standard Time, which is still that day in UTC.
    ends_at = datetime.fromisoformat(adjusted.data["grant"]["agreement_ends_at"])
    assert ends_at.astimezone(UTC).date().isoformat() == renewed_terms["valid_until"]

    await exchange_holds(node, grant_id, adjusted.data["grant"]["version"])
    await clock.advance(days=32)  # past the first agreement's last day, within the renewal's
    served = await query(gateway, consumer, code, row["GMSFHM"])
    assert served.status_code == 200, served.text
    grant = await gateway.get(f"{GRANTS}/{grant_id}", headers=bearer(consumer["token"]))
    assert grant.json()["status"] == "active"
