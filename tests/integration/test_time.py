"""Rules that wait for time to pass, through the gateway of a running node whose clock the
test moves: a grant's period ends (A5), a request goes unanswered past its due date (A4), an
entry is not updated within its cycle (E7). The services' own sweeps act on the node's time;
nothing is changed in the database by hand.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import httpx

from shared.workdays import china_date
from tests.conftest import Infrastructure
from tests.integration.conftest import (
    GRANTS,
    REQUESTS,
    NodeClock,
    Party,
    answer,
    application,
    bearer,
    conditional_entry,
    eventually,
    find_event,
    publish,
    submit,
)
from tests.integration.test_exchange import (
    EXCHANGE,
    as_csv,
    people,
    person_entry,
    query,
    until_denial,
    upload,
)

SWEEPS = 1.5  # a few runs of the sweeps (every 0.5 s on the test node)


async def test_a_grant_expires_by_itself_once_its_last_day_is_over_and_queries_are_refused(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, clock: NodeClock
) -> None:
    code = await publish(gateway, provider, person_entry())  # unconditional: granted at once
    rows = people(2)
    assert (await upload(gateway, provider, code, as_csv(rows))).status_code == 200
    last_day = clock.today() + timedelta(days=3)
    filed = await submit(gateway, consumer, application(
        code, items=["XM", "GMSFHM"], valid_until=last_day.isoformat()))
    assert filed.status_code == 201, filed.text
    grant_path, key = f"{GRANTS}/{filed.json()['grant_id']}", rows[0]["GMSFHM"]
    await until_denial(gateway, consumer, code, key, None)  # the exchange knows the grant

    await clock.advance(days=5)  # two days after its last day

    expired = await eventually(gateway, consumer, grant_path, "status", "expired")
    assert expired["status_reason"] == f"The period ended on {last_day}."
    refused = await query(gateway, consumer, code, key)
    assert (refused.status_code, refused.json()["denial"]) == (403, "grant_not_active")
    assert "expired" in refused.json()["detail"]


async def test_a_conditional_request_unanswered_past_its_due_date_turns_overdue_by_itself(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, clock: NodeClock
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    request_path = f"{REQUESTS}/{filed.json()['id']}"
    due_on = date.fromisoformat(filed.json()["due_on"])  # ten working days on
    assert due_on > clock.today() + timedelta(days=10)
    await asyncio.sleep(SWEEPS)
    assert (await _read(gateway, provider, request_path))["status"] == "submitted"

    await clock.advance(days=(due_on - clock.today()).days + 7)  # a week past the due date

    overdue = await eventually(gateway, provider, request_path, "status", "overdue")
    marked = overdue["transitions"][-1]  # type: ignore[index]
    assert (marked["to_status"], marked["actor"]) == ("overdue", "platform")
    assert china_date(datetime.fromisoformat(marked["at"])) > due_on
    late = await answer(gateway, provider, filed.json()["id"], approve=True)
    assert (late.json()["status"], late.json()["answer"]["late"]) == ("approved", True)


async def test_a_daily_entry_loaded_once_is_stale_once_its_cycle_has_passed(
    gateway: httpx.AsyncClient, provider: Party, clock: NodeClock,
    infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, person_entry())  # declared daily
    assert (await upload(gateway, provider, code, as_csv(people(2)))).status_code == 200
    fresh = await _freshness(gateway, provider, code)
    assert fresh["state"] == "fresh"

    await clock.advance(days=3)
    stale = await find_event(infrastructure.bootstrap_servers, "exchange.entry.stale.v1", code)
    last_update = datetime.fromisoformat(stale.data["last_update"])
    assert clock.now() - last_update > timedelta(days=2, hours=23)
    listed = await _freshness(gateway, provider, code)
    assert (listed["state"], listed["update_cycle"]) == ("stale", "daily")
    assert datetime.fromisoformat(listed["due_by"]) == last_update + timedelta(days=2)


async def _freshness(gateway: httpx.AsyncClient, party: Party, code: str) -> dict[str, object]:
    response = await gateway.get(f"{EXCHANGE}/freshness", headers=bearer(party["token"]))
    assert response.status_code == 200, response.text
    [found] = [f for f in response.json() if f["entry_code"] == code]
    return found


async def _read(gateway: httpx.AsyncClient, party: Party, path: str) -> dict[str, object]:
    response = await gateway.get(path, headers=bearer(party["token"]))
    assert response.status_code == 200, response.text
    return response.json()
