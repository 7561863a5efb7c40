"""C7: one item, one source — cataloguing an item another department collects is flagged."""

from __future__ import annotations

import random

import httpx

from tests import factories
from tests.integration.conftest import Editor, bearer, create, find_event


def _entry_with_item(code: str, name: str) -> dict[str, object]:
    body = factories.population_entry()
    body["items"] = [*body["items"], {  # type: ignore[list-item]
        "name": name, "code": code, "data_type": "C", "length": 2, "share_type": "unconditional"}]
    return body


async def test_an_item_collected_by_another_department_is_flagged_by_code_and_by_name(
    gateway: httpx.AsyncClient, admin_token: str, new_editor: Editor, infrastructure: object
) -> None:
    civil_affairs, other = await new_editor(), await new_editor()
    code = f"HYZK{random.randint(10_000, 99_999)}"
    name = f"婚姻状况{code[-5:]}"
    registered = await gateway.put(f"/api/catalog/responsibilities/{code}",
                                   headers=bearer(admin_token),
                                   json={"item_name": name,
                                         "department": civil_affairs["credit_code"]})
    assert registered.status_code == 200, registered.text

    by_code = (await create(gateway, other, _entry_with_item(code, "婚姻状态"))).json()
    assert [(f["item_code"], f["responsible_department"])
            for f in by_code["duplicate_collection"]] == [(code, civil_affairs["credit_code"])]

    renamed = f"{name[:2]} {name[2:]}（）"  # same name, spaced and with stray brackets
    by_name = (await create(gateway, other, _entry_with_item("OTHER1", renamed))).json()
    assert [f["item_code"] for f in by_name["duplicate_collection"]] == ["OTHER1"]

    own = (await create(gateway, civil_affairs, _entry_with_item(code, name))).json()
    assert own["duplicate_collection"] == []

    listed = (await gateway.get("/api/catalog/duplicate-collection", headers=bearer(admin_token),
                                params={"provider": other["credit_code"]})).json()
    assert {f["item_code"] for f in listed["items"]} == {code, "OTHER1"}
    event = await find_event(infrastructure.bootstrap_servers,  # type: ignore[attr-defined]
                             "catalog.collection.duplicate_flagged.v1", other["credit_code"])
    assert event.data["responsible_department"] == civil_affairs["credit_code"]


async def test_removing_the_item_clears_the_flag(
    gateway: httpx.AsyncClient, admin_token: str, new_editor: Editor
) -> None:
    owner, other = await new_editor(), await new_editor()
    code = f"GJJZH{random.randint(10_000, 99_999)}"
    await gateway.put(f"/api/catalog/responsibilities/{code}", headers=bearer(admin_token),
                      json={"item_name": f"住房公积金账号{code}",
                            "department": owner["credit_code"]})
    created = (await create(gateway, other, _entry_with_item(code, "公积金账号"))).json()
    assert created["duplicate_collection"]

    changed = await gateway.put(f"/api/catalog/entries/{created['code']}",
                                headers=bearer(other["token"]),
                                json=factories.population_entry(created["name"]))
    assert changed.status_code == 200, changed.text
    assert changed.json()["duplicate_collection"] == []


async def test_only_the_authority_keeps_the_register(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.put("/api/catalog/responsibilities/XM", headers=bearer(
        editor["token"]), json={"item_name": "姓名", "department": editor["credit_code"]})
    assert response.status_code == 403
