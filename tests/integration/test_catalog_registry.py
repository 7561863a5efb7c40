"""C8: the database registry and information projects' resource catalogs."""

from __future__ import annotations

import httpx

from tests import factories
from tests.integration.conftest import ENTRIES, Editor, bearer, create


async def test_a_database_is_registered_updated_and_deregistered(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    auth = bearer(editor["token"])
    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    registered = await gateway.post("/api/catalog/databases", headers=auth, json={
        "name": "全市人口基础信息库", "dbms": "PostgreSQL 16", "description": "人口库主库",
        "resource_codes": [code]})
    assert registered.status_code == 201, registered.text
    database = registered.json()
    updated = await gateway.put(f"/api/catalog/databases/{database['id']}", headers=auth,
                                json={"description": "人口库主库(迁移至政务云)",
                                      "resource_codes": [code]})
    assert updated.json()["status"] == "updated"
    gone = await gateway.post(f"/api/catalog/databases/{database['id']}/deregister",
                              headers=auth, json={"reason": "并入省级人口库"})
    assert (gone.json()["status"], gone.json()["reason"]) == ("deregistered", "并入省级人口库")
    again = await gateway.post(f"/api/catalog/databases/{database['id']}/deregister",
                               headers=auth, json={"reason": "重复"})
    assert again.status_code == 409
    listed = await gateway.get("/api/catalog/databases", headers=auth,
                               params={"department": editor["credit_code"]})
    assert [d["status"] for d in listed.json()["items"]] == ["deregistered"]
    one = await gateway.get(f"/api/catalog/databases/{database['id']}", headers=auth)
    assert (one.json()["name"], one.json()["reason"]) == ("全市人口基础信息库", "并入省级人口库")


async def test_a_database_cannot_back_another_departments_entry(
    gateway: httpx.AsyncClient, editor: dict[str, str], new_editor: Editor
) -> None:
    other = await new_editor()
    code = (await create(gateway, other, factories.population_entry())).json()["code"]
    response = await gateway.post("/api/catalog/databases", headers=bearer(editor["token"]),
                                  json={"name": "借用库", "dbms": "MySQL", "description": "x",
                                        "resource_codes": [code]})
    assert response.status_code == 422
    assert (response.json()["rule"], response.json()["field"]) == ("C8", "resource_codes")


async def test_a_project_files_before_approval_and_attaches_published_entries_at_acceptance(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    auth = bearer(editor["token"])
    project = (await gateway.post("/api/catalog/projects", headers=auth, json={
        "name": "智慧民政综合信息平台建设项目",
        "planned_resources": ["婚姻登记信息", "社会救助对象信息"]})).json()
    assert project["status"] == "filed"

    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    draft_refused = await gateway.post(f"/api/catalog/projects/{project['id']}/acceptance",
                                       headers=auth, json={"entry_codes": [code]})
    assert draft_refused.status_code == 422 and draft_refused.json()["rule"] == "C8"

    await gateway.post(f"{ENTRIES}/{code}/publish", headers=auth)
    accepted = await gateway.post(f"/api/catalog/projects/{project['id']}/acceptance",
                                  headers=auth, json={"entry_codes": [code]})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["accepted_codes"]) == ("accepted", [code])
    one = await gateway.get(f"/api/catalog/projects/{project['id']}", headers=auth)
    assert one.json()["planned_resources"] == ["婚姻登记信息", "社会救助对象信息"]
    unknown = await gateway.get("/api/catalog/projects/00000000-0000-0000-0000-000000000000",
                                headers=auth)
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/record-not-found")
