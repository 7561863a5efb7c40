"""A7: node admins manage departments, clients and users; bad input writes nothing."""

from __future__ import annotations

import httpx

from tests import factories
from tests.integration.conftest import bearer

DEPARTMENTS = "/api/authorization/departments"


async def _count_departments(gateway: httpx.AsyncClient, token: str) -> int:
    response = await gateway.get(DEPARTMENTS, params={"limit": 1}, headers=bearer(token))
    return response.json()["total"]


async def test_registered_department_is_listed_and_paginated(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    region = "320102"
    for _ in range(3):
        body = factories.department(region=region)
        assert (await gateway.post(DEPARTMENTS, json=body,
                                   headers=bearer(admin_token))).status_code == 201
    page = await gateway.get(DEPARTMENTS, params={"region_code": region, "limit": 2},
                             headers=bearer(admin_token))
    assert page.status_code == 200
    assert page.json()["total"] == 3 and len(page.json()["items"]) == 2
    rest = await gateway.get(DEPARTMENTS, params={"region_code": region, "offset": 2},
                             headers=bearer(admin_token))
    assert len(rest.json()["items"]) == 1


async def test_chinese_names_round_trip_unmangled(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    body = {**factories.department(), "name": "南京市鼓楼区人力资源和社会保障局（测试）"}
    created = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    fetched = await gateway.get(f"{DEPARTMENTS}/{body['credit_code']}",
                                headers=bearer(admin_token))
    assert created.json()["name"] == fetched.json()["name"] == body["name"]


async def test_malformed_credit_code_is_422_naming_the_field(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    before = await _count_departments(gateway, admin_token)
    body = {**factories.department(), "credit_code": "113201000141428939"}  # bad check char
    response = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["body.credit_code"]
    assert "credit code" in response.json()["errors"][0]["message"]
    assert await _count_departments(gateway, admin_token) == before


async def test_unknown_tier_is_422(gateway: httpx.AsyncClient, admin_token: str) -> None:
    before = await _count_departments(gateway, admin_token)
    body = {**factories.department(), "tier": "city"}
    response = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.tier"
    assert await _count_departments(gateway, admin_token) == before


async def test_unknown_region_is_422(gateway: httpx.AsyncClient, admin_token: str) -> None:
    before = await _count_departments(gateway, admin_token)
    body = {**factories.department(), "region_code": "990100"}
    response = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.region_code"
    assert await _count_departments(gateway, admin_token) == before


async def test_duplicate_department_is_409_and_keeps_the_first(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str]
) -> None:
    again = {**factories.department(), "credit_code": department["credit_code"]}
    response = await gateway.post(DEPARTMENTS, json=again, headers=bearer(admin_token))
    assert response.status_code == 409
    assert response.json()["field"] == "credit_code"
    kept = await gateway.get(f"{DEPARTMENTS}/{department['credit_code']}",
                             headers=bearer(admin_token))
    assert kept.json()["name"] == department["name"]


async def test_unknown_field_is_refused(gateway: httpx.AsyncClient, admin_token: str) -> None:
    body = {**factories.department(), "budget": 1}
    response = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.budget"


async def test_oversize_body_is_413_and_writes_nothing(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    before = await _count_departments(gateway, admin_token)
    body = {**factories.department(), "name": "局" * 70_000}  # test node limit: 64 KiB
    response = await gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token))
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert await _count_departments(gateway, admin_token) == before


async def test_non_utf8_body_is_400_and_writes_nothing(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    before = await _count_departments(gateway, admin_token)
    body = factories.department()
    raw = (f'{{"credit_code": "{body["credit_code"]}", "name": "').encode() + \
        "南京市公安局".encode("gb18030") + b'", "tier": "municipal", "region_code": "320100"}'
    response = await gateway.post(DEPARTMENTS, content=raw, headers={
        **bearer(admin_token), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert await _count_departments(gateway, admin_token) == before


async def test_malformed_json_is_400(gateway: httpx.AsyncClient, admin_token: str) -> None:
    response = await gateway.post(DEPARTMENTS, content=b'{"name": ', headers={
        **bearer(admin_token), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-body")


async def test_user_with_roles_logs_in_and_can_be_disabled(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str]
) -> None:
    username = factories.username()
    created = await gateway.post("/api/authorization/users", headers=bearer(admin_token), json={
        "username": username, "display_name": "李娜", "department": department["credit_code"],
        "roles": ["catalog_editor", "request_reviewer"], "password": "twelve chars or more"})
    assert created.status_code == 201, created.text
    login = await gateway.post("/auth/login", json={"username": username,
                                                    "password": "twelve chars or more"})
    assert login.status_code == 200
    me = await gateway.get("/api/authorization/me",
                           headers=bearer(login.json()["access_token"]))
    assert set(me.json()["roles"]) == {"catalog_editor", "request_reviewer"}

    disabled = await gateway.patch(f"/api/authorization/users/{username}",
                                   json={"disabled": True}, headers=bearer(admin_token))
    assert disabled.status_code == 200
    refused = await gateway.post("/auth/login", json={"username": username,
                                                      "password": "twelve chars or more"})
    assert refused.status_code == 401


async def test_unknown_role_is_422(gateway: httpx.AsyncClient, admin_token: str) -> None:
    response = await gateway.post("/api/authorization/users", headers=bearer(admin_token), json={
        "username": factories.username(), "display_name": "赵磊", "roles": ["superuser"],
        "password": "twelve chars or more"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.roles")


async def test_concurrent_duplicate_registrations_store_one(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    import asyncio

    body = factories.department()
    responses = await asyncio.gather(*(
        gateway.post(DEPARTMENTS, json=body, headers=bearer(admin_token)) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert all(r.headers["content-type"].startswith("application/") for r in responses)


async def test_a_department_changed_by_patch_answers_with_its_new_state(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str]
) -> None:
    response = await gateway.patch(f"{DEPARTMENTS}/{department['credit_code']}",
                                   json={"name": "南京市数据局", "tier": None},
                                   headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "南京市数据局"
    assert response.json()["tier"] == department["tier"]
    assert response.json()["updated_at"] >= response.json()["created_at"]
