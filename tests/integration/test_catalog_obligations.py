"""C6: change triggers due 15 working days later, on the State Council calendar; the
competent authority loads a year the library does not know; version diffs."""

from __future__ import annotations

import httpx

from shared.contracts.catalog import TriggerRecorded
from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import ENTRIES, Editor, bearer, create, find_event, publish

TRIGGERS = "/api/catalog/triggers"


async def _trigger(gateway: httpx.AsyncClient, token: str, department: str,
                   occurred_on: str) -> httpx.Response:
    return await gateway.post(TRIGGERS, headers=bearer(token), json={
        "department": department, "kind": "law_revised",
        "description": "《户口登记条例》修订, 户籍信息项调整", "occurred_on": occurred_on})


async def test_a_trigger_filed_before_national_day_skips_the_holiday_week(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await _trigger(gateway, editor["token"], editor["credit_code"], "2026-09-28")
    assert response.status_code == 201, response.text
    # 29–30 Sep (2), 1–7 Oct off, 8–9 Oct (4), Sat 10 Oct adjusted (5), 12–16 (10), 19–23 (15).
    assert response.json()["due_on"] == "2026-10-23"
    assert response.json()["calendar_basis"] == ["library"]


async def test_a_trigger_into_an_unknown_year_uses_the_visible_weekday_fallback(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await _trigger(gateway, editor["token"], editor["credit_code"], "2027-12-24")
    assert response.status_code == 201
    assert "weekday_fallback" in response.json()["calendar_basis"]
    assert response.json()["due_on"] == "2028-01-14"  # Mon–Fri only, 1 Jan 2028 a Saturday


async def test_a_trigger_into_2027_uses_the_schedule_the_authority_loaded(
    gateway: httpx.AsyncClient, editor: dict[str, str], admin_token: str
) -> None:
    loaded = await gateway.put("/api/catalog/calendar/2027", headers=bearer(admin_token), json={
        "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",
                     "2027-02-11"],
        "adjusted_workdays": ["2027-02-13"]})
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["basis"] == "loaded"

    response = await _trigger(gateway, editor["token"], editor["credit_code"], "2026-12-24")
    # 25, 28–31 Dec (5); 1 Jan 2027 a loaded holiday; 4–8 Jan (10), 11–15 Jan (15).
    assert response.json()["due_on"] == "2027-01-15"
    assert set(response.json()["calendar_basis"]) == {"library", "loaded"}


async def test_only_the_authority_loads_a_schedule(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.put("/api/catalog/calendar/2029", headers=bearer(editor["token"]),
                                 json={"holidays": [], "adjusted_workdays": []})
    assert response.status_code == 403


async def test_a_schedule_with_another_years_dates_is_refused(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    response = await gateway.put("/api/catalog/calendar/2030", headers=bearer(admin_token),
                                 json={"holidays": ["2029-12-31"], "adjusted_workdays": []})
    assert response.status_code == 422
    assert "outside 2030" in response.json()["detail"]


async def test_overdue_triggers_are_listed_per_department_until_resolved(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    auth = bearer(editor["token"])
    trigger = (await _trigger(gateway, editor["token"], editor["credit_code"],
                              "2026-09-28")).json()
    overdue = {"department": editor["credit_code"], "overdue": "true", "as_of": "2026-11-02"}
    listed = (await gateway.get(TRIGGERS, params=overdue, headers=auth)).json()
    assert trigger["id"] in [t["id"] for t in listed["items"]]
    on_time = (await gateway.get(TRIGGERS, headers=auth, params={
        **overdue, "as_of": "2026-10-23"})).json()
    assert trigger["id"] not in [t["id"] for t in on_time["items"]]

    code = await publish(gateway, editor, factories.population_entry())
    resolved = await gateway.post(f"{TRIGGERS}/{trigger['id']}/resolve", headers=auth,
                                  json={"entry_code": code, "note": "户籍类目录已按新条例更新"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_at"]
    assert (resolved.json()["answered_by_entry"], resolved.json()["answered_by_version"]) == (
        code, 2)  # version 1 is the draft
    listed = (await gateway.get(TRIGGERS, params=overdue, headers=auth)).json()
    assert trigger["id"] not in [t["id"] for t in listed["items"]]


async def test_a_trigger_is_not_resolved_by_word_alone_only_by_a_catalog_change(
    gateway: httpx.AsyncClient, editor: dict[str, str], new_editor: Editor
) -> None:
    auth = bearer(editor["token"])
    # The change occurs after everything the department has published so far.
    trigger = (await _trigger(gateway, editor["token"], editor["credit_code"],
                              "2099-01-05")).json()
    published = await publish(gateway, editor, factories.population_entry())
    draft = (await create(gateway, editor, factories.population_entry())).json()["code"]
    other = await publish(gateway, await new_editor(), factories.population_entry())
    for code, says in ((published, "no published change since 2099-01-05"),
                       (draft, "no published change"), (other, "is not an entry of")):
        refused = await gateway.post(f"{TRIGGERS}/{trigger['id']}/resolve", headers=auth,
                                     json={"entry_code": code, "note": "目录已更新"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/trigger-not-answered")
        assert says in refused.json()["detail"] and refused.json()["field"] == "entry_code"
    listed = (await gateway.get(TRIGGERS, headers=auth,
                                params={"department": editor["credit_code"]})).json()
    assert [t["resolved_at"] for t in listed["items"] if t["id"] == trigger["id"]] == [None]


async def test_loading_a_schedule_recounts_due_dates_counted_on_the_weekday_fallback(
    gateway: httpx.AsyncClient, editor: dict[str, str], admin_token: str,
    infrastructure: Infrastructure
) -> None:
    # 2031 and 2032 are years no library knows: 元旦 2032 (a Thursday) counts as a workday.
    filed = (await _trigger(gateway, editor["token"], editor["credit_code"],
                            "2031-12-24")).json()
    assert filed["due_on"] == "2032-01-14" and "weekday_fallback" in filed["calendar_basis"]
    loaded = await gateway.put("/api/catalog/calendar/2032", headers=bearer(admin_token),
                               json={"holidays": ["2032-01-01"], "adjusted_workdays": []})
    assert loaded.status_code == 200, loaded.text
    listed = (await gateway.get(TRIGGERS, headers=bearer(editor["token"]),
                                params={"department": editor["credit_code"]})).json()
    [recounted] = [t for t in listed["items"] if t["id"] == filed["id"]]
    assert recounted["due_on"] == "2032-01-15"
    assert set(recounted["calendar_basis"]) == {"weekday_fallback", "loaded"}
    # The evaluation hears the new due date (the department is late only after it).
    announced = await find_event(infrastructure.bootstrap_servers,
                                 TriggerRecorded.event_type, editor["credit_code"],
                                 lambda envelope: envelope.data["trigger_id"] == filed["id"]
                                 and envelope.data["due_on"] == "2032-01-15")
    assert announced.data["occurred_on"] == "2031-12-24"


async def test_another_departments_editor_cannot_file_a_trigger(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await _trigger(gateway, editor["token"], factories.credit_code(), "2026-11-02")
    assert response.status_code == 403


async def test_diff_names_each_changed_field_and_item(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    auth = bearer(editor["token"])
    created = (await create(gateway, editor, factories.population_entry())).json()
    changed = factories.population_entry(created["name"])
    changed["update_cycle"] = "weekly"
    changed["items"][2]["length"] = 8  # type: ignore[index]
    await gateway.put(f"{ENTRIES}/{created['code']}", headers=auth, json=changed)

    diff = await gateway.get(f"{ENTRIES}/{created['code']}/diff", headers=auth,
                             params={"from": 1, "to": 2})
    assert diff.status_code == 200
    assert {(c["path"], c["before"], c["after"]) for c in diff.json()} == {
        ("update_cycle", "daily", "weekly"), ("items.CSRQ.length", None, 8)}
    missing = await gateway.get(f"{ENTRIES}/{created['code']}/diff", headers=auth,
                                params={"from": 1, "to": 9})
    assert missing.status_code == 404
