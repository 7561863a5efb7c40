"""The sharing workflow as the rules read (requirements §4), through the gateway of a running node.

Departments publish at the catalog; the authorization service learns entries from catalog
events; requests, answers, negotiation, arbitration and grants go over HTTP; the events are
read back from the broker. Where the rules need time to pass (a due date, a grant's end),
the test moves the stored date into the past and lets the service's own sweep act.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.authorization.deadlines import answer_due_on, working_calendar
from shared.db import create_session_factory
from shared.workdays import WorkdayCalendar, china_date
from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import (
    DECISIONS,
    ENTRIES,
    GRANTS,
    REQUESTS,
    Party,
    answer,
    application,
    bearer,
    conditional_entry,
    eventually,
    find_event,
    new_party,
    publish,
    submit,
)
from tests.integration.test_arbitration import seated_arbiter


async def access(gateway: httpx.AsyncClient, party: Party, code: str,
                 **changes: object) -> dict[str, object]:
    body: dict[str, object] = {"entry_code": code, "purpose": "data_verification",
                               "method": "online_query", "items": ["GMSFHM"]}
    body.update(changes)
    response = await gateway.post(DECISIONS, json=body, headers=bearer(party["token"]))
    assert response.status_code == 200, response.text
    return response.json()


async def approved_grant(gateway: httpx.AsyncClient, provider: Party, consumer: Party,
                         **entry_share: object) -> tuple[str, dict[str, object]]:
    code = await publish(gateway, provider, conditional_entry(**entry_share))
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    answered = await answer(gateway, provider, filed.json()["id"], approve=True)
    assert answered.status_code == 200, answered.text
    grant = await gateway.get(f"{GRANTS}/{answered.json()['grant_id']}",
                              headers=bearer(consumer["token"]))
    return code, grant.json()


# --- A1: unconditional -------------------------------------------------------------------------


async def test_an_unconditional_resource_is_granted_at_once_and_recorded(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, factories.population_entry())
    filed = await submit(gateway, consumer, application(code, items=["XM", "GMSFHM"]))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert (request["status"], request["share_type"], request["due_on"]) == (
        "approved", "unconditional", None)

    issued = await find_event(infrastructure.bootstrap_servers, "share.grant.issued.v1",
                              request["grant_id"])
    assert issued.data["grant"]["consumer"] == consumer["credit_code"]
    assert issued.data["grant"]["items"] == ["XM", "GMSFHM"]
    assert (await access(gateway, consumer, code))["allowed"] is True


# --- A2: conditional, answered within 10 working days -------------------------------------------


async def test_a_conditional_request_shows_its_due_date_from_the_working_day_calendar(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    filed = await submit(gateway, consumer, application(code))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    expected, basis = answer_due_on(WorkdayCalendar(), datetime.fromisoformat(
        request["submitted_at"]), 10)
    assert (request["status"], request["due_on"]) == ("submitted", expected.isoformat())
    assert request["calendar_basis"] == basis
    submitted = await find_event(infrastructure.bootstrap_servers,
                                 "share.request.submitted.v1", request["id"])
    assert submitted.data["request"]["due_on"] == expected.isoformat()
    assert (await access(gateway, consumer, code))["denial"] == "no_grant"


async def test_a_purpose_the_entry_does_not_permit_is_refused_at_submission(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    refused = await submit(gateway, consumer, application(code, purpose="work_reference"))
    assert refused.status_code == 422
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == ("purpose", "C4")
    assert set(problem["permitted_uses"]) == {"data_verification", "administrative_basis"}
    listed = await gateway.get(REQUESTS, params={"side": "consumer", "entry_code": code},
                               headers=bearer(consumer["token"]))
    assert listed.json()["total"] == 0


async def test_items_the_entry_does_not_have_are_refused(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    refused = await submit(gateway, consumer, application(code, items=["GMSFHM", "HJDZ"]))
    assert (refused.status_code, refused.json()["field"]) == (422, "items")


async def test_a_refusal_without_a_reason_is_refused_and_one_with_a_reason_is_kept(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    for reason in (None, "", "   "):
        refused = await answer(gateway, provider, request_id, approve=False, reason=reason)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["field"], refused.json()["rule"]) == ("reason", "A2")
    kept = await answer(gateway, provider, request_id, approve=False,
                        reason="申请用途与本资源共享条件不符")
    assert kept.status_code == 200, kept.text
    assert (kept.json()["status"], kept.json()["answer"]["reason"]) == (
        "rejected", "申请用途与本资源共享条件不符")


async def test_only_the_provider_answers(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    refused = await answer(gateway, consumer, request_id, approve=True)
    assert (refused.status_code, refused.json()["reason"]) == (403, "not_provider")


async def test_two_reviewers_answering_at_once_give_one_answer_and_one_conflict(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, authorization_db: AsyncEngine
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    first, second = await asyncio.gather(
        answer(gateway, provider, request_id, approve=True),
        answer(gateway, provider, request_id, approve=False, reason="不符合共享条件"))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    conflict = first if first.status_code == 409 else second
    winner = second if conflict is first else first
    assert conflict.json()["current_state"] == winner.json()["status"]
    async with authorization_db.connect() as connection:
        answers = await connection.scalar(text(
            "SELECT count(*) FROM request_transition WHERE request_id = :id "
            "AND to_status IN ('approved', 'rejected')"), {"id": request_id})
        grants = await connection.scalar(text(
            "SELECT count(*) FROM share_grant WHERE request_id = :id"), {"id": request_id})
    assert answers == 1
    assert grants == (1 if winner.json()["status"] == "approved" else 0)


async def test_an_approval_narrows_items_rows_rate_and_period(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    until = (china_date(datetime.now(UTC)) + timedelta(days=90)).isoformat()
    widened = await answer(gateway, provider, request_id, approve=True,
                           items=["GMSFHM", "XM"])
    assert (widened.status_code, widened.json()["field"]) == (422, "items")
    approved = await answer(
        gateway, provider, request_id, approve=True, items=["GMSFHM"], valid_until=until,
        rate_limit_per_minute=60,
        row_filter=[{"item": "GMSFHM", "op": "prefix", "values": ["3201"]}])
    assert approved.status_code == 200, approved.text
    grant = (await gateway.get(f"{GRANTS}/{approved.json()['grant_id']}",
                               headers=bearer(consumer["token"]))).json()
    assert (grant["items"], grant["valid_until"], grant["rate_limit_per_minute"]) == (
        ["GMSFHM"], until, 60)
    assert grant["row_filter"] == [{"item": "GMSFHM", "op": "prefix", "values": ["3201"]}]
    assert (await access(gateway, consumer, code, items=["JFJS"]))["denial"] == (
        "items_not_granted")
    allowed = await access(gateway, consumer, code, items=[])
    assert (allowed["allowed"], allowed["items"], allowed["rate_limit_per_minute"]) == (
        True, ["GMSFHM"], 60)


# --- A3: negotiation and arbitration -----------------------------------------------------------


async def test_a_refusal_is_negotiated_then_escalated_and_the_arbiter_decides(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    path = f"{REQUESTS}/{request_id}"
    await answer(gateway, provider, request_id, approve=False, reason="涉及个人缴费信息，暂不共享")

    early = await gateway.post(f"{path}/escalation", json={"reason": "协商未果"},
                               headers=bearer(consumer["token"]))
    assert (early.status_code, early.json()["current_state"]) == (409, "rejected")
    opened = await gateway.post(f"{path}/negotiation", headers=bearer(consumer["token"]),
                                json={"body": "我局办理养老保险待遇资格认证确需核验缴费基数"})
    assert opened.json()["status"] == "negotiating"
    reply = await gateway.post(f"{path}/messages", headers=bearer(provider["token"]),
                               json={"body": "请提供具体法律依据"})
    assert reply.status_code == 201, reply.text

    outsider = await new_party(gateway, admin_token)
    refused = await gateway.post(f"{path}/escalation", json={"reason": "协商未果"},
                                 headers=bearer(outsider["token"]))
    assert (refused.status_code, refused.json()["reason"]) == (403, "not_party")
    escalated = await gateway.post(f"{path}/escalation", json={"reason": "协商未果"},
                                   headers=bearer(consumer["token"]))
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["escalation"]["arbiter"] == "competent_authority"

    not_arbiter = await gateway.post(f"{path}/decision", headers=bearer(provider["token"]),
                                     json={"grant": False, "reason": "维持"})
    assert not_arbiter.status_code == 403
    arbiter = await seated_arbiter(gateway, admin_token, "competent_authority")
    decided = await gateway.post(f"{path}/decision", headers=bearer(arbiter), json={
        "grant": True, "reason": "属于履行法定职责所必需，应予共享", "items": ["JFJS"]})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decision"]["grant"]) == ("decided", True)
    again = await gateway.post(f"{path}/decision", headers=bearer(arbiter),
                               json={"grant": False, "reason": "改判"})
    assert (again.status_code, again.json()["current_state"]) == (409, "decided")

    detail = (await gateway.get(path, headers=bearer(consumer["token"]))).json()
    assert [t["to_status"] for t in detail["transitions"]] == [
        "submitted", "rejected", "negotiating", "escalated", "decided"]
    assert [m["sender"] for m in detail["messages"]] == [
        consumer["credit_code"], provider["credit_code"]]
    event = await find_event(infrastructure.bootstrap_servers, "share.request.decided.v1",
                             request_id)
    assert event.data["request"]["decision"]["reason"] == "属于履行法定职责所必需，应予共享"
    assert (await access(gateway, consumer, code, items=["JFJS"]))["allowed"] is True


async def test_a_not_shared_resource_opens_a_negotiation_and_a_central_party_goes_to_the_coordinating_body(  # noqa: E501
    gateway: httpx.AsyncClient, provider: Party, admin_token: str
) -> None:
    ministry = await new_party(gateway, admin_token, tier="national", region="100000")
    code = await publish(gateway, provider, conditional_entry(
        type="not_shared", conditions=None, permitted_uses=[],
        legal_basis={"kind": "law", "title": "《中华人民共和国统计法》第二十五条"}))
    filed = await submit(gateway, ministry, application(
        code, message="全国人口普查比对确需使用"))
    assert filed.status_code == 201, filed.text
    assert (filed.json()["status"], filed.json()["due_on"]) == ("negotiating", None)
    escalated = await gateway.post(f"{REQUESTS}/{filed.json()['id']}/escalation",
                                   json={"reason": "协商未果"}, headers=bearer(ministry["token"]))
    assert escalated.json()["escalation"]["arbiter"] == "coordinating_body"


# --- A4: overdue by itself ---------------------------------------------------------------------


async def test_an_unanswered_request_becomes_overdue_by_itself_and_the_provider_is_reminded(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party,
    authorization_db: AsyncEngine, infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    # Ten working days pass without an answer.
    async with authorization_db.begin() as connection:
        await connection.execute(text(
            "UPDATE share_request SET due_on = current_date - 1 WHERE id = :id"),
            {"id": request_id})

    overdue = await eventually(gateway, provider, f"{REQUESTS}/{request_id}", "status",
                               "overdue")
    assert overdue["transitions"][-1]["actor"] == "platform"
    reminder = await find_event(infrastructure.bootstrap_servers,
                                "share.request.overdue.v1", request_id)
    assert reminder.data["request"]["provider"] == provider["credit_code"]
    waiting = await gateway.get(REQUESTS, params={"side": "provider", "status": "overdue"},
                                headers=bearer(provider["token"]))
    assert [r["id"] for r in waiting.json()["items"]] == [request_id]

    late = await answer(gateway, provider, request_id, approve=True)
    assert (late.json()["status"], late.json()["answer"]["late"]) == ("approved", True)


# --- A5: grants --------------------------------------------------------------------------------


async def test_a_grant_expires_by_itself_and_says_so(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party,
    authorization_db: AsyncEngine, infrastructure: Infrastructure
) -> None:
    code, grant = await approved_grant(gateway, provider, consumer)
    async with authorization_db.begin() as connection:  # its period ends
        await connection.execute(text(
            "UPDATE share_grant SET valid_until = current_date - 1, expires_at = now() "
            "WHERE id = :id"), {"id": grant["id"]})

    await eventually(gateway, consumer, f"{GRANTS}/{grant['id']}", "status", "expired")
    active = await gateway.get(GRANTS, params={"entry_code": code, "status": "active"},
                               headers=bearer(consumer["token"]))
    assert active.json()["total"] == 0
    expired = await find_event(infrastructure.bootstrap_servers, "share.grant.expired.v1",
                               grant["id"])
    assert expired.data["grant"]["status"] == "expired"
    assert (await access(gateway, consumer, code))["denial"] == "grant_not_active"

    until = (china_date(datetime.now(UTC)) + timedelta(days=30)).isoformat()
    renewed = await gateway.post(f"{GRANTS}/{grant['id']}/renewal", json={"valid_until": until},
                                 headers=bearer(provider["token"]))
    assert (renewed.json()["status"], renewed.json()["valid_until"]) == ("active", until)
    assert (await access(gateway, consumer, code))["allowed"] is True


async def test_revocation_takes_effect_for_the_next_access_decision(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, infrastructure: Infrastructure
) -> None:
    code, grant = await approved_grant(gateway, provider, consumer)
    assert (await access(gateway, consumer, code))["allowed"] is True
    no_reason = await gateway.post(f"{GRANTS}/{grant['id']}/revocation", json={"reason": " "},
                                   headers=bearer(provider["token"]))
    assert no_reason.status_code == 422
    revoked = await gateway.post(f"{GRANTS}/{grant['id']}/revocation",
                                 json={"reason": "发现超范围使用"},
                                 headers=bearer(provider["token"]))
    assert revoked.json()["status"] == "revoked"
    assert (await access(gateway, consumer, code))["denial"] == "grant_not_active"
    event = await find_event(infrastructure.bootstrap_servers, "share.grant.revoked.v1",
                             grant["id"])
    assert event.data["reason"] == "发现超范围使用"
    # Sent again (after a 503 not-yet-in-force, say), it answers once in force, changing
    # nothing: the first reason stands.
    twice = await gateway.post(f"{GRANTS}/{grant['id']}/revocation", json={"reason": "再次"},
                               headers=bearer(provider["token"]))
    assert (twice.status_code, twice.json()["status_reason"]) == (200, "发现超范围使用")
    assert twice.json()["version"] == revoked.json()["version"]


async def test_a_grant_is_useless_to_any_other_department(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    code, grant = await approved_grant(gateway, provider, consumer)
    other = await new_party(gateway, admin_token)
    decision = await access(gateway, other, code)
    assert (decision["allowed"], decision["denial"]) == (False, "no_grant")
    hidden = await gateway.get(f"{GRANTS}/{grant['id']}", headers=bearer(other["token"]))
    assert hidden.status_code == 404
    assert (await access(gateway, consumer, code, purpose="administrative_basis"))[
        "denial"] == "purpose_not_granted"


# --- catalog changes reach the grants ----------------------------------------------------------


async def test_narrowed_items_narrow_the_grant_and_withdrawal_ends_it(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, infrastructure: Infrastructure
) -> None:
    entry = conditional_entry()
    code, grant = await approved_grant(gateway, provider, consumer)
    entry_body = (await gateway.get(f"{ENTRIES}/{code}", headers=bearer(provider["token"])))
    narrowed = {**conditional_entry(), "name": entry_body.json()["name"],
                "items": [item for item in entry["items"] if item["code"] == "GMSFHM"],  # type: ignore[union-attr]
                "reason": "缴费基数不再共享"}
    changed = await gateway.put(f"{ENTRIES}/{code}", json=narrowed,
                                headers=bearer(provider["token"]))
    assert changed.status_code == 200, changed.text
    adjusted = await eventually(gateway, consumer, f"{GRANTS}/{grant['id']}", "items",
                                ["GMSFHM"])
    assert adjusted["status"] == "active"

    withdrawn = await gateway.post(f"{ENTRIES}/{code}/withdraw", json={"reason": "资源停止维护"},
                                   headers=bearer(provider["token"]))
    assert withdrawn.status_code == 200, withdrawn.text
    await eventually(gateway, consumer, f"{GRANTS}/{grant['id']}", "status", "ended")
    await find_event(infrastructure.bootstrap_servers, "share.grant.ended.v1", grant["id"])
    refused = await submit(gateway, consumer, application(code, items=["GMSFHM"]))
    assert (refused.status_code, refused.json()["type"].split("/")[-1]) == (
        409, "resource-withdrawn")


# --- the calendar the competent authority loads ------------------------------------------------


async def test_a_request_filed_on_2026_12_24_gets_its_due_date_from_the_loaded_2027_schedule(
    gateway: httpx.AsyncClient, admin_token: str, authorization_db: AsyncEngine
) -> None:
    loaded = await gateway.put("/api/catalog/calendar/2027", headers=bearer(admin_token), json={
        "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",
                     "2027-02-11"],
        "adjusted_workdays": ["2027-02-13"]})
    assert loaded.status_code == 200, loaded.text
    sessions = create_session_factory(authorization_db)
    filed_at = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    async with asyncio.timeout(30):
        while True:  # the schedule reaches the authorization service as a catalog event
            async with sessions() as session:
                calendar = await working_calendar(session)
            due_on, basis = answer_due_on(calendar, filed_at, 10)
            if "loaded" in basis:
                break
            await asyncio.sleep(0.2)
    # 25, 28–31 Dec (5); 1 Jan 2027 a loaded holiday; 4–8 Jan (10).
    assert due_on.isoformat() == "2027-01-08"


# --- lists -------------------------------------------------------------------------------------


async def test_each_side_sees_its_own_lists_and_oversight_sees_all(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    code = await publish(gateway, provider, conditional_entry())
    ids = [(await submit(gateway, consumer, application(code))).json()["id"] for _ in range(3)]
    mine = await gateway.get(REQUESTS, params={"side": "consumer", "limit": 2},
                             headers=bearer(consumer["token"]))
    assert (mine.json()["total"], len(mine.json()["items"])) == (3, 2)
    waiting = await gateway.get(REQUESTS, params={"side": "provider", "status": "submitted"},
                                headers=bearer(provider["token"]))
    assert sorted(r["id"] for r in waiting.json()["items"]) == sorted(ids)
    nothing = await gateway.get(REQUESTS, params={"side": "provider"},
                                headers=bearer(consumer["token"]))
    assert nothing.json()["total"] == 0
    everything = await gateway.get(REQUESTS, params={"provider": provider["credit_code"]},
                                   headers=bearer(admin_token))
    assert everything.json()["total"] == 3
    bad = await gateway.get(REQUESTS, params={"status": "pending"},
                            headers=bearer(consumer["token"]))
    assert bad.status_code == 422
