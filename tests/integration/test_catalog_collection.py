"""C7: one item, one source — cataloguing an item another department collects is flagged."""

from __future__ import annotations

import asyncio
import random

import httpx
from aiokafka import AIOKafkaConsumer

from shared.contracts.catalog import DuplicateCollectionFlagged
from shared.events import EventEnvelope, topic_for
from tests import factories
from tests.integration.conftest import ENTRIES, Editor, bearer, create, find_event


def _department_entry(name: str | None = None, *items: dict[str, object]
                      ) -> dict[str, object]:
    """A department's entry with these items beside one no register names: the demo province
    (another module's) registers who collects 公民身份号码 and 姓名, which would flag those too."""
    body = factories.population_entry(name)
    body["classification"] = {"top": "department", "item": "07"}
    body["items"] = [{"name": "登记序号", "code": "DJXH", "data_type": "C", "length": 20,
                      "identifies_subject": True, "share_type": "unconditional"}, *items]
    return body


def _entry_with_item(code: str, name: str) -> dict[str, object]:
    return _department_entry(None, {"name": name, "code": code, "data_type": "C", "length": 2,
                                    "share_type": "unconditional"})


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
    mine = (by_code["code"], by_name["code"])
    assert {(f["entry_code"], f["item_code"]) for f in listed["items"]
            if f["entry_code"] in mine} == {(by_code["code"], code), (by_name["code"], "OTHER1")}
    # Announced once the entry is published, not while it is a draft.
    published = await gateway.post(f"{ENTRIES}/{by_code['code']}/publish",
                                   headers=bearer(other["token"]))
    assert published.status_code == 200, published.text
    event = await find_event(infrastructure.bootstrap_servers,  # type: ignore[attr-defined]
                             "catalog.collection.duplicate_flagged.v1", other["credit_code"])
    assert (event.data["entry_code"], event.data["responsible_department"]) == (
        by_code["code"], civil_affairs["credit_code"])


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
                                json=_department_entry(created["name"]))
    assert changed.status_code == 200, changed.text
    assert changed.json()["duplicate_collection"] == []


async def _flag_events(bootstrap: str, provider: str, count: int) -> list[tuple[str, ...]]:
    """The first `count` flag events of `provider`, in order (they share its partition), or
    those that came within 30 seconds."""
    reader = AIOKafkaConsumer(topic_for(DuplicateCollectionFlagged.event_type), group_id=None,
                              bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await reader.start()
    found: list[tuple[str, ...]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await reader.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = EventEnvelope.model_validate_json(record.value)
                        if event.key == provider:
                            found.append((event.type.split(".")[2], event.data["entry_code"],
                                          event.data["item_code"],
                                          event.data.get("reason", "")))
    except TimeoutError:
        pass  # the comparison shows what is missing
    finally:
        await reader.stop()
    return found


async def test_a_flag_is_announced_while_its_entry_is_published_and_cleared_when_it_ends(
    gateway: httpx.AsyncClient, admin_token: str, new_editor: Editor, infrastructure: object
) -> None:
    owner, other = await new_editor(), await new_editor()
    auth, admin = bearer(other["token"]), bearer(admin_token)
    marriage, fund = (f"HYZK{random.randint(10_000, 99_999)}",
                      f"GJJZH{random.randint(10_000, 99_999)}")
    for code, name in ((marriage, f"婚姻状况{marriage}"), (fund, f"公积金账号{fund}")):
        registered = await gateway.put(f"/api/catalog/responsibilities/{code}", headers=admin,
                                       json={"item_name": name,
                                             "department": owner["credit_code"]})
        assert registered.status_code == 200, registered.text
    draft = (await create(gateway, other, _entry_with_item(marriage, "婚姻状态"))).json()
    assert draft["duplicate_collection"]  # shown to its editors, announced to nobody
    removed, moved, withdrawn = [
        (await create(gateway, other, _entry_with_item(code, "x"))).json()
        for code in (marriage, marriage, fund)]
    for created in (removed, moved, withdrawn):
        published = await gateway.post(f"{ENTRIES}/{created['code']}/publish", headers=auth)
        assert published.status_code == 200, published.text

    changed = await gateway.put(f"{ENTRIES}/{removed['code']}", headers=auth, json={
        **_department_entry(removed["name"]), "reason": "不再采集婚姻状况"})
    assert changed.status_code == 200, changed.text
    moved_to_other = await gateway.put(f"/api/catalog/responsibilities/{marriage}",
                                       headers=admin, json={"item_name": f"婚姻状况{marriage}",
                                                            "department": other["credit_code"]})
    assert moved_to_other.status_code == 200, moved_to_other.text
    gone = await gateway.post(f"{ENTRIES}/{withdrawn['code']}/withdraw", headers=auth,
                              json={"reason": "并入住房公积金目录"})
    assert gone.status_code == 200, gone.text

    events = await _flag_events(infrastructure.bootstrap_servers,  # type: ignore[attr-defined]
                                other["credit_code"], 6)
    assert events == [
        ("duplicate_flagged", removed["code"], marriage, ""),
        ("duplicate_flagged", moved["code"], marriage, ""),
        ("duplicate_flagged", withdrawn["code"], fund, ""),
        ("duplicate_cleared", removed["code"], marriage, "item_removed"),
        ("duplicate_cleared", moved["code"], marriage, "responsibility_changed"),
        ("duplicate_cleared", withdrawn["code"], fund, "entry_withdrawn")]
    assert draft["code"] not in {code for _, code, _, _ in events}
    now_own = (await gateway.get(f"{ENTRIES}/{moved['code']}", headers=auth)).json()
    assert now_own["duplicate_collection"] == []
    listed = (await gateway.get("/api/catalog/duplicate-collection", headers=auth, params={
        "provider": other["credit_code"], "state": "cleared"})).json()["items"]
    assert [(flag["entry_code"], flag["item_code"], flag["cleared_because"])
            for flag in listed] == [(withdrawn["code"], fund, "entry_withdrawn"),
                                    (moved["code"], marriage, "responsibility_changed"),
                                    (removed["code"], marriage, "item_removed")]
    assert listed[-1]["item_name"] == "x" and listed[-1]["cleared_at"]
    standing = (await gateway.get("/api/catalog/duplicate-collection", headers=auth, params={
        "provider": other["credit_code"]})).json()["items"]
    ours = {entry["code"] for entry in (draft, removed, moved, withdrawn)}
    # The draft's went too: the register names its own department.
    assert [flag for flag in standing if flag["entry_code"] in ours] == []


async def test_only_the_authority_keeps_the_register(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.put("/api/catalog/responsibilities/XM", headers=bearer(
        editor["token"]), json={"item_name": "姓名", "department": editor["credit_code"]})
    assert response.status_code == 403
