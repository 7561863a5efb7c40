"""Requirements §3: cataloguing under the rules C1–C5, the entry lifecycle and its versions."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests import factories
from tests.integration.conftest import ENTRIES, Editor, bearer, create, find_event


async def test_a_draft_gets_a_platform_assigned_code(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, factories.population_entry())
    assert response.status_code == 201, response.text
    entry = response.json()
    assert re.fullmatch(r"101001/[0-9]{6}", entry["code"])
    assert (entry["status"], entry["version"]) == ("draft", 1)
    assert entry["provider"] == editor["credit_code"]
    assert entry["provider_name"] == editor["name"]


def _rule_of(response: httpx.Response) -> tuple[int, str, str, str]:
    body = response.json()
    return response.status_code, body.get("rule"), body.get("field"), body.get("article")


async def test_a_conditional_base_item_of_a_population_resource_is_refused_citing_c3(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    body = factories.population_entry()
    body["items"][1]["share_type"] = "conditional"  # type: ignore[index]
    response = await create(gateway, editor, body)
    assert _rule_of(response) == (422, "C3", "items[1].share_type", "51 §10(二)")
    assert "公民身份号码" in response.json()["detail"]


async def test_not_shared_without_legal_basis_is_refused_citing_c2(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, factories.theme_entry({"type": "not_shared"}))
    assert _rule_of(response) == (422, "C2", "share.legal_basis", "51 §10(一)")


async def test_not_shared_with_a_legal_basis_is_accepted(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, factories.theme_entry({
        "type": "not_shared",
        "legal_basis": {"kind": "law", "title": "《中华人民共和国保守国家秘密法》第二条"}}))
    assert response.status_code == 201, response.text


async def test_conditional_without_conditions_is_refused_citing_c4(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, factories.theme_entry({
        "type": "conditional", "permitted_uses": ["data_verification"],
        "methods": ["online_query"]}))
    assert _rule_of(response) == (422, "C4", "share.conditions", "51 §12, JS §15")


async def test_conditional_without_permitted_uses_is_refused_citing_c4(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, factories.theme_entry({
        "type": "conditional", "conditions": "仅限社会保障业务经办使用",
        "methods": ["online_query"]}))
    assert _rule_of(response) == (422, "C4", "share.permitted_uses", "51 §12, JS §15")


async def test_platform_sharing_without_a_method_is_refused_citing_c5(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    body = factories.population_entry()
    body["share"] = {"type": "unconditional", "channel": "platform", "methods": []}
    response = await create(gateway, editor, body)
    assert _rule_of(response) == (422, "C5", "share.methods", "51 §12")


async def test_an_unknown_data_type_is_refused_naming_the_item(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    body = factories.population_entry()
    body["items"][0]["data_type"] = "X"  # type: ignore[index]
    response = await create(gateway, editor, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.items.0.data_type"


async def test_a_classified_entry_is_refused_on_an_external_node(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await create(gateway, editor, {**factories.population_entry(),
                                              "classified": True})
    assert _rule_of(response)[:2] == (422, "F3")


async def test_lifecycle_keeps_every_version_and_never_reuses_the_code(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    auth = bearer(editor["token"])
    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    path = f"{ENTRIES}/{code}"

    published = await gateway.post(f"{path}/publish", headers=auth)
    assert (published.json()["status"], published.json()["version"]) == ("published", 2)
    changed_without_reason = await gateway.put(path, headers=auth, json={
        **factories.population_entry(published.json()["name"]), "update_cycle": "weekly"})
    assert changed_without_reason.status_code == 422
    changed = await gateway.put(path, headers=auth, json={
        **factories.population_entry(published.json()["name"]), "update_cycle": "weekly",
        "reason": "户籍管理系统改造, 更新周期调整"})
    assert changed.json()["version"] == 3
    withdrawn = await gateway.post(f"{path}/withdraw", headers=auth,
                                   json={"reason": "职能调整, 资源移交市数据局"})
    assert withdrawn.json()["status"] == "withdrawn"

    again = await gateway.post(f"{path}/publish", headers=auth)
    assert again.status_code == 409 and again.json()["current_state"] == "withdrawn"
    still_readable = await gateway.get(path, headers=auth)
    assert still_readable.json()["status"] == "withdrawn"
    history = (await gateway.get(f"{path}/versions", headers=auth)).json()
    assert [v["status"] for v in history] == ["draft", "published", "published", "withdrawn"]
    assert history[3]["reason"] == "职能调整, 资源移交市数据局"
    assert {v["changed_by"] for v in history} == {history[0]["changed_by"]}

    next_code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    assert next_code != code


async def test_drafts_stay_with_their_department(
    gateway: httpx.AsyncClient, editor: dict[str, str], new_editor: Editor
) -> None:
    other = await new_editor()
    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    assert (await gateway.get(f"{ENTRIES}/{code}",
                              headers=bearer(other["token"]))).status_code == 404
    listed = (await gateway.get(ENTRIES, params={"provider": editor["credit_code"]},
                                headers=bearer(other["token"]))).json()
    assert code not in [e["code"] for e in listed["items"]]
    own = (await gateway.get(ENTRIES, params={"provider": editor["credit_code"]},
                             headers=bearer(editor["token"]))).json()
    assert code in [e["code"] for e in own["items"]]


async def test_only_the_providers_editors_change_an_entry(
    gateway: httpx.AsyncClient, editor: dict[str, str], new_editor: Editor
) -> None:
    other = await new_editor()
    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    response = await gateway.post(f"{ENTRIES}/{code}/publish", headers=bearer(other["token"]))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-providers-editor")


async def test_codes_stay_unique_under_concurrent_creation(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    responses = await asyncio.gather(*(create(gateway, editor, factories.population_entry())
                                       for _ in range(12)))
    codes = [r.json()["code"] for r in responses]
    assert all(r.status_code == 201 for r in responses)
    assert len(set(codes)) == 12


async def test_publishing_announces_the_full_snapshot(
    gateway: httpx.AsyncClient, editor: dict[str, str], infrastructure: object
) -> None:
    code = (await create(gateway, editor, factories.population_entry())).json()["code"]
    await gateway.post(f"{ENTRIES}/{code}/publish", headers=bearer(editor["token"]))
    event = await find_event(infrastructure.bootstrap_servers,  # type: ignore[attr-defined]
                              "catalog.entry.published.v1", code)
    assert event.data["entry"]["provider_name"] == editor["name"]
    assert [i["code"] for i in event.data["entry"]["items"]] == ["XM", "GMSFHM", "CSRQ"]
    assert event.source.service == "catalog"
