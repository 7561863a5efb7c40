"""C3 by register: the lead department of a base resource keeps its base items, and every
entry of that resource shares them unconditionally whatever its provider ticks; C2 per item.
"""

from __future__ import annotations

import random

import httpx

from tests import factories
from tests.integration.conftest import ENTRIES, Editor, bearer, create, publish

BASE_ITEMS = "/api/catalog/base-items"
LAW = {"kind": "law", "title": "《中华人民共和国测绘法》第三十四条"}


def _refusal(response: httpx.Response) -> tuple[int, str, str, str]:
    body = response.json()
    return response.status_code, body.get("rule"), body.get("field"), body.get("article")


def _land_parcels(item_name: str, item_code: str, share_type: str) -> dict[str, object]:
    """A natural-resources base resource (自然资源和空间地理) with one item of the given
    share type besides a parcel number shared unconditionally."""
    body = factories.population_entry(f"宗地基础信息{random.randint(100_000, 999_999)}")
    body["classification"] = {"top": "base", "item": "03", "category": "001"}
    body["items"] = [
        {"name": "宗地编号", "code": "ZDBM", "data_type": "C", "length": 19,
         "identifies_subject": True, "share_type": "unconditional"},
        {"name": item_name, "code": item_code, "data_type": "C", "length": 50,
         "share_type": share_type}]
    return body


def _new_item() -> tuple[str, str]:
    suffix = random.randint(100_000, 999_999)
    return f"土地用途{suffix}", f"TDYT{suffix}"


async def _register(gateway: httpx.AsyncClient, token: str, subject: str, code: str,
                    name: str) -> httpx.Response:
    return await gateway.post(BASE_ITEMS, headers=bearer(token), json={
        "subject": subject, "item_code": code, "item_name": name,
        "reason": "《不动产登记暂行条例实施细则》: 宗地的基本信息"})


async def _appoint(gateway: httpx.AsyncClient, token: str, subject: str,
                   department: str) -> httpx.Response:
    return await gateway.put(f"/api/catalog/base-subjects/{subject}/lead",
                             headers=bearer(token), json={"department": department})


async def test_an_unticked_id_number_of_a_population_resource_is_refused_by_the_register(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    body = factories.population_entry()
    body["items"][1] |= {"is_base_item": False, "share_type": "conditional"}  # type: ignore[index]
    response = await create(gateway, editor, body)
    assert _refusal(response) == (422, "C3", "items[1].share_type", "51 §10(二), JS §11(二)")
    assert "公民身份号码" in response.json()["detail"]

    # Under another code and spelt with a space, it is still the register's ID number.
    body["items"][1] |= {"code": "SFZH", "name": "公民身份 号码"}  # type: ignore[index]
    assert _refusal(await create(gateway, editor, body))[:3] == (
        422, "C3", "items[1].share_type")


async def test_a_fresh_node_registers_the_items_the_law_fixes(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    population = (await gateway.get(BASE_ITEMS, headers=bearer(editor["token"]),
                                    params={"subject": "01"})).json()
    seeded = {(item["item_code"], item["item_name"], item["registered_by"])
              for item in population["items"]}
    assert ("GMSFHM", "公民身份号码", "migration 20261130_0010") in seeded
    assert {"XM", "XB", "MZ", "CSRQ", "ZZ"} <= {code for code, _, _ in seeded}
    legal_entities = (await gateway.get(BASE_ITEMS, headers=bearer(editor["token"]),
                                        params={"subject": "02", "limit": 500})).json()
    assert "统一社会信用代码" in {item["item_name"] for item in legal_entities["items"]}
    subjects = (await gateway.get("/api/catalog/base-subjects",
                                  headers=bearer(editor["token"]))).json()
    assert [(s["subject"], s["name"]) for s in subjects] == [
        ("01", "人口"), ("02", "法人单位"), ("03", "自然资源和空间地理"), ("04", "社会信用"),
        ("05", "电子证照")]


async def test_the_lead_department_keeps_its_base_resources_register_and_no_one_else(
    gateway: httpx.AsyncClient, admin_token: str, new_editor: Editor
) -> None:
    lead, other = await new_editor(), await new_editor()
    assert (await _appoint(gateway, lead["token"], "03", lead["credit_code"])).status_code == 403
    appointed = await _appoint(gateway, admin_token, "03", lead["credit_code"])
    assert appointed.status_code == 200, appointed.text
    assert appointed.json()["lead_department"] == lead["credit_code"]
    unknown = await _appoint(gateway, admin_token, "03", factories.credit_code())
    assert (unknown.status_code, unknown.json()["field"]) == (422, "department")

    name, code = _new_item()
    refused = await _register(gateway, other["token"], "03", code, name)
    assert (refused.status_code, refused.json()["lead_department"]) == (
        403, lead["credit_code"])
    assert (await _register(gateway, lead["token"], "04", code, name)).status_code == 403
    registered = await _register(gateway, lead["token"], "03", code, name)
    assert registered.status_code == 201, registered.text
    item = registered.json()
    assert (item["subject"], item["item_code"], item["removed_at"]) == ("03", code, None)

    again_by_code = await _register(gateway, lead["token"], "03", code, "别的名称")
    again_by_name = await _register(gateway, admin_token, "03", "OTHER", f" {name[:2]} {name[2:]}")
    assert [r.json()["type"].rsplit("/", 1)[1] for r in (again_by_code, again_by_name)] == [
        "base-item-taken", "base-item-taken"]
    assert (await _register(gateway, admin_token, "05", code, name)).status_code == 201
    punctuation = await _register(gateway, admin_token, "03", "DOTS", "……")
    assert (punctuation.status_code, punctuation.json()["field"]) == (422, "item_name")

    remove = f"{BASE_ITEMS}/{item['id']}/remove"
    assert (await gateway.post(remove, headers=bearer(other["token"]),
                               json={"reason": "不是"})).status_code == 403
    removed = await gateway.post(remove, headers=bearer(lead["token"]),
                                 json={"reason": "土地用途随规划调整, 不作为基础信息项"})
    assert removed.status_code == 200, removed.text
    assert removed.json()["removal_reason"] == "土地用途随规划调整, 不作为基础信息项"
    assert (await gateway.post(remove, headers=bearer(lead["token"]),
                               json={"reason": "再次"})).status_code == 409

    standing = (await gateway.get(BASE_ITEMS, headers=bearer(other["token"]),
                                  params={"subject": "03", "limit": 500})).json()
    assert code not in {i["item_code"] for i in standing["items"]}
    gone = (await gateway.get(BASE_ITEMS, headers=bearer(other["token"]),
                              params={"subject": "03", "state": "removed"})).json()
    assert item["id"] in {i["id"] for i in gone["items"]}
    # Taken off, it may be registered again.
    assert (await _register(gateway, lead["token"], "03", code, name)).status_code == 201


async def test_an_entry_published_before_its_item_was_registered_is_listed_not_changed(
    gateway: httpx.AsyncClient, admin_token: str, provider: dict[str, str]
) -> None:
    name, code = _new_item()
    entry_code = await publish(gateway, provider, _land_parcels(name, code, "conditional"))
    draft = (await create(gateway, provider, _land_parcels(name, code, "conditional"))).json()
    base_item = (await _register(gateway, admin_token, "03", code, name)).json()

    listed = (await gateway.get(f"{BASE_ITEMS}/violations", headers=bearer(provider["token"]),
                                params={"provider": provider["credit_code"]})).json()
    assert [(v["entry_code"], v["field"], v["item_code"], v["share_type"], v["base_item"]["id"])
            for v in listed["items"]] == [
        (entry_code, "items[1].share_type", code, "conditional", base_item["id"])]
    entry = (await gateway.get(f"{ENTRIES}/{entry_code}",
                               headers=bearer(provider["token"]))).json()
    assert (entry["version"], entry["items"][1]["share_type"]) == (2, "conditional")

    # Its next change must share the item unconditionally, and a draft cannot be published.
    change = {**_land_parcels(name, code, "conditional"), "name": entry["name"],
              "abstract": "宗地的编号和土地用途。", "reason": "补充摘要"}
    refused = await gateway.put(f"{ENTRIES}/{entry_code}", headers=bearer(provider["token"]),
                                json=change)
    assert _refusal(refused)[:3] == (422, "C3", "items[1].share_type")
    unpublished = await gateway.post(f"{ENTRIES}/{draft['code']}/publish",
                                     headers=bearer(provider["token"]))
    assert _refusal(unpublished)[:3] == (422, "C3", "items[1].share_type")

    change["items"][1]["share_type"] = "unconditional"  # type: ignore[index]
    fixed = await gateway.put(f"{ENTRIES}/{entry_code}", headers=bearer(provider["token"]),
                              json=change)
    assert fixed.status_code == 200, fixed.text
    after = (await gateway.get(f"{BASE_ITEMS}/violations", headers=bearer(provider["token"]),
                               params={"provider": provider["credit_code"]})).json()
    assert (after["items"], after["total"]) == ([], 0)


async def test_an_item_not_shared_names_its_legal_basis_and_keeps_it(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    body = _land_parcels("界址点坐标", "JZDZB", "not_shared")
    refused = await create(gateway, editor, body)
    assert _refusal(refused) == (422, "C2", "items[1].legal_basis", "51 §10(一)")

    body["items"][1]["legal_basis"] = LAW  # type: ignore[index]
    created = await create(gateway, editor, body)
    assert created.status_code == 201, created.text
    assert created.json()["items"][1]["legal_basis"] == LAW
    assert "legal_basis" not in created.json()["items"][0]
