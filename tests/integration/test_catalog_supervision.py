"""Supervision of the catalog (监督考核, JS §9) through the node: the competent authority and
the auditors see per department its entries, its change triggers open and overdue (C6), its
duplicate-collection flags (C7) and its base-item violations (C3), with the search's facets;
nobody else does."""

from __future__ import annotations

import random

import httpx

from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import (
    ENTRIES,
    NodeClock,
    Party,
    bearer,
    conditional_entry,
    publish,
    register_department,
)
from tests.integration.portal_oversight import auditor_token

SUPERVISION = "/api/catalog/supervision"
COUNTS = ("entries_published", "entries_draft", "entries_withdrawn", "triggers_open",
          "triggers_overdue", "duplicate_collection_flags", "base_item_violations")


def fresh_region() -> str:
    """A district of 新疆 no other test registers departments in, so the list is this test's."""
    return f"65{random.randint(0, 9999):04d}"


async def supervised(gateway: httpx.AsyncClient, token: str,
                     **params: str) -> dict[str, dict[str, int]]:
    """The departments listed, in order, each with its counts."""
    response = await gateway.get(SUPERVISION, headers=bearer(token), params=params)
    assert response.status_code == 200, response.text
    return {row["department"]: {name: row[name] for name in COUNTS}
            for row in response.json()["items"]}


def counts(published: int = 0, draft: int = 0, withdrawn: int = 0, open_: int = 0,
           overdue: int = 0, flags: int = 0, violations: int = 0) -> dict[str, int]:
    return dict(zip(COUNTS, (published, draft, withdrawn, open_, overdue, flags, violations),
                    strict=True))


def with_item(body: dict[str, object], code: str, name: str,
              share_type: str = "unconditional") -> dict[str, object]:
    body["items"] = [*body["items"], {  # type: ignore[list-item]
        "name": name, "code": code, "data_type": "C", "length": 20, "share_type": share_type}]
    return body


async def a_department(gateway: httpx.AsyncClient, admin_token: str, region: str,
                       tier: str = "municipal") -> Party:
    """A department of `region` whose system catalogs (and has left one draft doing so)."""
    return await register_department(gateway, admin_token, "catalog_editor", tier=tier,
                                     region=region)


async def test_each_department_shows_its_entries_its_overdue_updates_and_its_duplicates(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure,
    clock: NodeClock
) -> None:
    region = fresh_region()
    civil_affairs, health, idle = [await a_department(gateway, admin_token, region)
                                   for _ in range(3)]
    suffix = random.randint(100_000, 999_999)
    marriage = f"HYZK{suffix}"
    registered = await gateway.put(
        f"/api/catalog/responsibilities/{marriage}", headers=bearer(admin_token),
        json={"item_name": f"婚姻状况{suffix}", "department": civil_affairs["credit_code"]})
    assert registered.status_code == 200, registered.text
    await publish(gateway, civil_affairs, factories.population_entry())
    # 卫健委 catalogues the marriage status civil affairs collects: duplicate collection (C7).
    await publish(gateway, health, with_item(conditional_entry(), marriage, "婚姻状况"))
    withdrawn = await publish(gateway, health, conditional_entry())
    assert (await gateway.post(f"{ENTRIES}/{withdrawn}/withdraw",
                               headers=bearer(health["token"]),
                               json={"reason": "并入新的目录"})).status_code == 200
    # A land parcel's use published conditionally, then registered a base item (C3).
    land = with_item(factories.population_entry(f"宗地信息{suffix}"), f"TDYT{suffix}",
                     f"土地用途{suffix}", "conditional")
    land["classification"] = {"top": "base", "item": "03", "category": "001"}
    await publish(gateway, health, land)
    assert (await gateway.post("/api/catalog/base-items", headers=bearer(admin_token), json={
        "subject": "03", "item_code": f"TDYT{suffix}", "item_name": f"土地用途{suffix}",
        "reason": "《不动产登记暂行条例实施细则》: 宗地的基本信息"})).status_code == 201
    trigger = await gateway.post("/api/catalog/triggers", headers=bearer(health["token"]), json={
        "department": health["credit_code"], "kind": "functions_changed",
        "description": "机构改革后承担医疗保障职责", "occurred_on": clock.today().isoformat()})
    assert trigger.status_code == 201, trigger.text

    auditor = await auditor_token(infrastructure, gateway)
    assert await supervised(gateway, auditor, region=region) == {
        health["credit_code"]: counts(published=2, draft=1, withdrawn=1, open_=1, flags=1,
                                      violations=1),
        civil_affairs["credit_code"]: counts(published=1, draft=1),
        idle["credit_code"]: counts(draft=1),  # a catalog not compiled is listed too
    }

    await clock.advance(days=30)  # past the 15 working days (C6)
    listed = await supervised(gateway, admin_token, region=region)
    assert next(iter(listed)) == health["credit_code"]  # the most overdue first
    assert listed[health["credit_code"]]["triggers_overdue"] == 1
    by_code = await supervised(gateway, admin_token, region=region, order="department")
    assert list(by_code) == sorted(party["credit_code"]
                                   for party in (civil_affairs, health, idle))


async def test_the_search_facets_choose_departments_and_the_entries_counted(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    region = fresh_region()
    city, county = (await a_department(gateway, admin_token, region),
                    await a_department(gateway, admin_token, region, tier="county"))
    await publish(gateway, city, conditional_entry())  # a theme resource, online query

    themed = await supervised(gateway, admin_token, region=region, classification="theme")
    assert themed == {city["credit_code"]: counts(published=1)}  # its base draft left out
    assert await supervised(gateway, admin_token, region=region, method="online_query",
                            share_type="conditional") == themed
    base = await supervised(gateway, admin_token, region=region, classification="base")
    assert base == {party["credit_code"]: counts(draft=1) for party in (city, county)}
    assert set(await supervised(gateway, admin_token, region=region, tier="county")) == {
        county["credit_code"]}
    assert set(await supervised(gateway, admin_token, provider=city["credit_code"])) == {
        city["credit_code"]}


async def test_only_the_competent_authority_and_auditors_supervise_and_a_facet_is_checked(
    gateway: httpx.AsyncClient, admin_token: str, editor: dict[str, str]
) -> None:
    refused = await gateway.get(SUPERVISION, headers=bearer(editor["token"]))
    assert refused.status_code == 403, refused.text
    assert "auditor" in refused.json()["required_roles"]
    wrong = await gateway.get(SUPERVISION, headers=bearer(admin_token),
                              params={"region": "32010", "order": "triggers_overdue"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "query.region"
