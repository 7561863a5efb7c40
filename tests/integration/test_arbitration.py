"""Who settles a dispute (A3) [51 §12, JS §16], through the gateway of a running node: a
dispute with a national or provincial party goes to the coordinating body, others to the
tier's competent authority; only an arbiter of a department seated for that body decides,
and never one of a party's own departments.
"""

from __future__ import annotations

import httpx

from tests import factories
from tests.integration.conftest import (
    ADMIN_PASSWORD,
    REQUESTS,
    Party,
    application,
    bearer,
    conditional_entry,
    new_party,
    publish,
    submit,
)

BODIES = "/api/authorization/arbitration-bodies"


async def seat(gateway: httpx.AsyncClient, admin_token: str, body: str,
               credit_code: str) -> None:
    seated = await gateway.put(f"{BODIES}/{body}/departments/{credit_code}",
                               headers=bearer(admin_token))
    assert seated.status_code == 200, seated.text


async def arbiter_of(gateway: httpx.AsyncClient, admin_token: str,
                     department: str | None) -> str:
    """A token of a user with the arbiter role on the staff of `department` (None: of no
    department, as a node's administrators are)."""
    username = factories.username()
    created = await gateway.post("/api/authorization/users", headers=bearer(admin_token), json={
        "username": username, "display_name": "陈静", "department": department,
        "roles": ["arbiter"], "password": ADMIN_PASSWORD})
    assert created.status_code == 201, created.text
    login = await gateway.post("/auth/login",
                               json={"username": username, "password": ADMIN_PASSWORD})
    return str(login.json()["access_token"])


async def seated_arbiter(gateway: httpx.AsyncClient, admin_token: str, body: str) -> str:
    """An arbiter of a newly registered department that the node admin seats for `body`
    (e.g. the city's big data bureau for the competent authority)."""
    department = factories.department()
    registered = await gateway.post("/api/authorization/departments", json=department,
                                    headers=bearer(admin_token))
    assert registered.status_code == 201, registered.text
    await seat(gateway, admin_token, body, department["credit_code"])
    return await arbiter_of(gateway, admin_token, department["credit_code"])


async def escalated(gateway: httpx.AsyncClient, provider: Party, consumer: Party) -> str:
    """A request for a not-shared resource whose negotiation failed: escalated."""
    code = await publish(gateway, provider, conditional_entry(
        type="not_shared", conditions=None, permitted_uses=[],
        legal_basis={"kind": "law", "title": "《中华人民共和国统计法》第二十五条"}))
    filed = await submit(gateway, consumer, application(code, message="人口普查比对确需使用"))
    assert filed.status_code == 201, filed.text
    path = f"{REQUESTS}/{filed.json()['id']}"
    escalation = await gateway.post(f"{path}/escalation", json={"reason": "协商未果"},
                                    headers=bearer(consumer["token"]))
    assert escalation.status_code == 200, escalation.text
    return path


async def test_a_dispute_with_a_provincial_party_goes_to_the_coordinating_body_and_only_its_arbiter_decides(  # noqa: E501
    gateway: httpx.AsyncClient, provider: Party, admin_token: str
) -> None:
    province = await new_party(gateway, admin_token, tier="provincial", region="320000")
    path = await escalated(gateway, provider, province)
    request = (await gateway.get(path, headers=bearer(province["token"]))).json()
    assert request["escalation"]["arbiter"] == "coordinating_body"

    authority = await seated_arbiter(gateway, admin_token, "competent_authority")
    other_body = await gateway.post(f"{path}/decision", headers=bearer(authority),
                                    json={"grant": True, "reason": "应予共享"})
    assert (other_body.status_code, other_body.json()["reason"]) == (403, "not_of_routed_body")
    assert other_body.json()["arbiter"] == "coordinating_body"
    writes = await gateway.post(f"{path}/messages", headers=bearer(authority),
                                json={"body": "请双方提交材料"})
    assert (writes.status_code, writes.json()["reason"]) == (403, "not_of_routed_body")

    coordinator = await seated_arbiter(gateway, admin_token, "coordinating_body")
    written = await gateway.post(f"{path}/messages", headers=bearer(coordinator),
                                 json={"body": "请双方提交材料"})
    assert (written.status_code, written.json()["sender"]) == (201, "arbiter")
    decided = await gateway.post(f"{path}/decision", headers=bearer(coordinator),
                                 json={"grant": False, "reason": "统计资料不得用于其他目的"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decided"


async def test_a_dispute_between_municipal_departments_goes_to_the_competent_authority(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    path = await escalated(gateway, provider, consumer)
    request = (await gateway.get(path, headers=bearer(consumer["token"]))).json()
    assert request["escalation"]["arbiter"] == "competent_authority"
    coordinator = await seated_arbiter(gateway, admin_token, "coordinating_body")
    nobody = await arbiter_of(gateway, admin_token, None)
    for arbiter in (coordinator, nobody):
        refused = await gateway.post(f"{path}/decision", headers=bearer(arbiter),
                                     json={"grant": True, "reason": "应予共享"})
        assert (refused.status_code, refused.json()["reason"]) == (403, "not_of_routed_body")


async def test_an_arbiter_from_a_partys_own_department_cannot_decide_its_dispute(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    # The provider is also the department seated for the competent authority.
    await seat(gateway, admin_token, "competent_authority", provider["credit_code"])
    path = await escalated(gateway, provider, consumer)
    own = await arbiter_of(gateway, admin_token, provider["credit_code"])
    refused = await gateway.post(f"{path}/decision", headers=bearer(own),
                                 json={"grant": False, "reason": "维持不予共享"})
    assert (refused.status_code, refused.json()["reason"]) == (403, "arbiter_is_party")
    assert refused.json()["type"].endswith("/not-the-arbiter")

    impartial = await seated_arbiter(gateway, admin_token, "competent_authority")
    decided = await gateway.post(f"{path}/decision", headers=bearer(impartial),
                                 json={"grant": True, "reason": "属于履行法定职责所必需"})
    assert decided.status_code == 200, decided.text


async def test_only_the_node_admin_seats_departments_and_a_seat_can_end(
    gateway: httpx.AsyncClient, provider: Party, admin_token: str
) -> None:
    target = f"{BODIES}/competent_authority/departments/{provider['credit_code']}"
    refused = await gateway.put(target, headers=bearer(provider["token"]))
    assert refused.status_code == 403
    unknown = await gateway.put(f"{BODIES}/competent_authority/departments/"
                                f"{factories.department()['credit_code']}",
                                headers=bearer(admin_token))
    assert unknown.status_code == 404
    assert (await gateway.put(target, headers=bearer(admin_token))).status_code == 200
    listed = await gateway.get(f"{BODIES}/competent_authority/departments",
                               params={"limit": 500}, headers=bearer(admin_token))
    assert provider["credit_code"] in [s["department"] for s in listed.json()["items"]]
    assert (await gateway.delete(target, headers=bearer(admin_token))).status_code == 200
    again = await gateway.delete(target, headers=bearer(admin_token))
    assert again.status_code == 404
