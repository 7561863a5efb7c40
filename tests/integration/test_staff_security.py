"""A7 for staff and clients, through the gateway: the administrators' duties kept apart
(三员分立), lock-out after failed logins, the security trail only auditors read, client
secrets that rotate and expire, and clients held to their networks whatever a caller writes
in X-Forwarded-For."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli.embedded import free_port
from shared.db import create_engine
from tests import factories
from tests.conftest import Infrastructure, RunningNode, _spawn
from tests.integration.conftest import (
    ADMIN_PASSWORD,
    NodeClock,
    SystemClientFactory,
    bearer,
    client_token,
)
from tests.integration.test_cli import govshare

USERS = "/api/authorization/users"
CLIENTS = "/api/authorization/clients"
TRAIL = "/api/authorization/security-events"
PASSWORD = "十二个字符以上的口令 2026"
SPOOFED = {"X-Forwarded-For": "10.20.1.1"}


# --- staff: made by the right administrator, logging in ---------------------------------------


async def add_user(gateway: httpx.AsyncClient, token: str, *roles: str) -> httpx.Response:
    return await gateway.post(USERS, headers=bearer(token), json={
        "username": factories.username(), "display_name": "周敏", "roles": list(roles),
        "password": PASSWORD})


async def new_user(gateway: httpx.AsyncClient, token: str, *roles: str) -> str:
    added = await add_user(gateway, token, *roles)
    assert added.status_code == 201, added.text
    return str(added.json()["username"])


async def login(gateway: httpx.AsyncClient, username: str, password: str = PASSWORD,
                **headers: str) -> httpx.Response:
    return await gateway.post("/auth/login", headers=headers,
                              json={"username": username, "password": password})


async def token_of(gateway: httpx.AsyncClient, username: str) -> str:
    response = await login(gateway, username)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def security_admin(infrastructure: Infrastructure, gateway: httpx.AsyncClient) -> str:
    """A security administrator, made at the node's machine as the first one is."""
    username = factories.username()
    made = govshare(infrastructure, "user", "add", "--username", username, "--display-name",
                    "孙丽", "--role", "security_admin", "--password-stdin",
                    stdin=ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    return await _token(gateway, username, ADMIN_PASSWORD)


async def _token(gateway: httpx.AsyncClient, username: str, password: str) -> str:
    response = await login(gateway, username, password)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def auditor(gateway: httpx.AsyncClient, security_admin: str) -> str:
    """A staff auditor's token (the security administrator's to make)."""
    return await token_of(gateway, await new_user(gateway, security_admin, "auditor"))


async def whoami(gateway: httpx.AsyncClient, token: str) -> str:
    return str((await gateway.get("/api/authorization/me", headers=bearer(token))).json()[
        "subject"])


async def trail(gateway: httpx.AsyncClient, auditor: str, **filters: Any) -> list[dict[str, Any]]:
    response = await gateway.get(TRAIL, params={"limit": 500, **filters},
                                 headers=bearer(auditor))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def lock_out(gateway: httpx.AsyncClient, username: str) -> None:
    for _ in range(5):
        failed = await login(gateway, username, "not the password at all")
        assert failed.status_code == 401, failed.text


# --- 三员分立 ------------------------------------------------------------------------------


async def test_a_node_admin_cannot_give_themselves_auditor(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    me = await whoami(gateway, admin_token)
    response = await gateway.patch(f"{USERS}/{me}", json={"roles": ["node_admin", "auditor"]},
                                   headers=bearer(admin_token))
    assert response.status_code == 403
    assert response.json()["reason"] == "own_account"
    assert (await gateway.get("/api/authorization/me", headers=bearer(admin_token))
            ).json()["roles"] == ["node_admin"]


async def test_a_node_admin_can_neither_make_an_auditor_nor_add_the_role(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    made = await add_user(gateway, admin_token, "auditor")
    assert made.status_code == 403
    assert made.json()["reason"] == "not_your_duty"
    assert made.json()["required_roles"] == ["security_admin"]

    editor = await new_user(gateway, admin_token, "catalog_editor")
    added = await gateway.patch(f"{USERS}/{editor}", json={"roles": ["catalog_editor",
                                                                     "auditor"]},
                                headers=bearer(admin_token))
    assert added.status_code == 403
    assert added.json()["reason"] == "not_your_duty"


async def test_a_security_admin_makes_auditors_but_not_a_node_admin_who_audits(
    gateway: httpx.AsyncClient, security_admin: str
) -> None:
    assert (await add_user(gateway, security_admin, "auditor")).status_code == 201
    both = await add_user(gateway, security_admin, "auditor", "security_admin")
    assert both.status_code == 422
    assert both.json()["reason"] == "separation_of_duties"
    admin = await add_user(gateway, security_admin, "node_admin")
    assert admin.status_code == 403
    assert admin.json()["reason"] == "not_your_duty"


async def test_the_auditor_watching_a_node_admin_is_not_theirs_to_disable(
    gateway: httpx.AsyncClient, admin_token: str, security_admin: str
) -> None:
    auditor = await new_user(gateway, security_admin, "auditor")
    response = await gateway.patch(f"{USERS}/{auditor}", json={"disabled": True},
                                   headers=bearer(admin_token))
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_duty"
    assert (await login(gateway, auditor)).status_code == 200


async def test_a_system_client_cannot_be_an_administrator(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str]
) -> None:
    response = await gateway.post(CLIENTS, headers=bearer(admin_token), json={
        "name": "运维脚本", "department": department["credit_code"], "roles": ["node_admin"]})
    assert response.status_code == 422
    assert response.json()["reason"] == "administrator_role_on_client"


# --- lock-out ---------------------------------------------------------------------------------


async def test_sixth_login_is_refused_even_with_the_right_password_until_the_lock_ends(
    gateway: httpx.AsyncClient, admin_token: str, clock: NodeClock
) -> None:
    username = await new_user(gateway, admin_token, "catalog_editor")
    await lock_out(gateway, username)

    right = await login(gateway, username)
    wrong = await login(gateway, username, "still not the password")
    assert right.status_code == wrong.status_code == 429
    assert right.json()["type"].endswith("/login-locked")
    assert int(right.headers["retry-after"]) > 60
    # Nothing in the answer tells the right password from a wrong one.
    same = ("type", "title", "status", "reason", "locked_until")
    assert [right.json()[key] for key in same] == [wrong.json()[key] for key in same]

    await clock.advance(hours=0.6)  # the 30-minute lock-out is over
    assert (await login(gateway, username)).status_code == 200


async def test_a_name_that_is_no_user_locks_out_alike(gateway: httpx.AsyncClient) -> None:
    nobody = factories.username()
    await lock_out(gateway, nobody)
    assert (await login(gateway, nobody)).status_code == 429


async def test_an_administrator_lifts_a_lock_out(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    username = await new_user(gateway, admin_token, "request_reviewer")
    await lock_out(gateway, username)
    state = await gateway.get(f"{USERS}/{username}/lockout", headers=bearer(admin_token))
    assert state.json()["failures"] == 5 and state.json()["locked_until"]

    lifted = await gateway.post(f"{USERS}/{username}/unlock", headers=bearer(admin_token))
    assert lifted.status_code == 200, lifted.text
    assert lifted.json() == {"username": username, "failures": 0, "locked_until": None}
    assert (await login(gateway, username)).status_code == 200


# --- the security trail --------------------------------------------------------------------


async def test_only_staff_auditors_read_the_trail(
    gateway: httpx.AsyncClient, admin_token: str, auditor: str,
    make_client: SystemClientFactory
) -> None:
    system_auditor = (await client_token(gateway, await make_client("auditor"))).json()
    for token in (admin_token, system_auditor["access_token"]):
        refused = await gateway.get(TRAIL, headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["reason"] == "auditor_only"

    admin = await whoami(gateway, admin_token)
    attempts = await trail(gateway, auditor, kind="trail_read", actor=admin)
    assert attempts and attempts[0]["outcome"] == "refused"
    reads = await trail(gateway, auditor, kind="trail_read", actor=await whoami(gateway, auditor))
    assert reads[0]["outcome"] == "succeeded"


async def test_every_kind_of_security_event_is_in_the_trail(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, admin_token: str,
    security_admin: str, auditor: str, department: dict[str, str]
) -> None:
    admin = await whoami(gateway, admin_token)
    user = await new_user(gateway, admin_token, "catalog_editor")
    assert (await login(gateway, user, **SPOOFED)).status_code == 200
    await lock_out(gateway, user)
    await gateway.post(f"{USERS}/{user}/unlock", headers=bearer(admin_token))
    for change in ({"roles": ["catalog_editor", "request_reviewer"]}, {"disabled": True},
                   {"disabled": False}):
        patched = await gateway.patch(f"{USERS}/{user}", json=change, headers=bearer(admin_token))
        assert patched.status_code == 200, patched.text
    refused = await gateway.patch(f"{USERS}/{user}", json={"roles": ["auditor"]},
                                  headers=bearer(admin_token))
    assert refused.status_code == 403
    client = (await gateway.post(CLIENTS, headers=bearer(admin_token), json={
        "name": "人口库同步", "department": department["credit_code"]})).json()
    assert (await client_token(gateway, client)).status_code == 200
    client = await rotate(gateway, admin_token, client)
    await gateway.put(f"{CLIENTS}/{client['client_id']}/allowed-networks",
                      json={"allowed_networks": ["10.32.0.0/16"]}, headers=bearer(admin_token))
    assert (await client_token(gateway, client)).json()["reason"] == "source_network"
    revoked = await gateway.post(f"{CLIENTS}/{client['client_id']}/revoke",
                                 json={"reason": "系统下线"}, headers=bearer(admin_token))
    assert revoked.status_code == 200, revoked.text
    rotated = govshare(infrastructure, "node", "init", "--name", "南京市政务数据共享交换平台",
                       "--tier", "municipal", "--region", "320100", "--zone", "external",
                       "--rotate-key")
    assert rotated.returncode == 0, rotated.stderr

    about_user = await trail(gateway, auditor, target=user)
    seen = {(event["kind"], event["outcome"], event["reason"]) for event in about_user}
    assert seen >= {
        ("user_created", "succeeded", None), ("login", "succeeded", None),
        ("login", "failed", "wrong_credentials"), ("lockout", "refused", "too_many_failures"),
        ("unlock", "succeeded", None), ("user_roles_changed", "succeeded", None),
        ("user_disabled", "succeeded", None), ("user_enabled", "succeeded", None),
        ("user_roles_changed", "refused", "not_your_duty")}
    by_admin = [event for event in about_user if event["kind"] == "user_roles_changed"
                and event["outcome"] == "succeeded"]
    assert by_admin[0]["actor"] == admin
    assert by_admin[0]["detail"] == {"before": ["catalog_editor"],
                                     "after": ["catalog_editor", "request_reviewer"]}
    failed = next(event for event in about_user if event["outcome"] == "failed")
    assert failed["actor"] == user and failed["source"] == "127.0.0.1"  # not the spoofed one

    about_client = await trail(gateway, auditor, target=client["client_id"])
    assert {(event["kind"], event["outcome"]) for event in about_client} >= {
        ("client_created", "succeeded"), ("client_token", "succeeded"),
        ("client_secret_rotated", "succeeded"), ("client_revoked", "succeeded"),
        ("client_networks_changed", "succeeded"), ("client_token", "refused")}
    keys = await trail(gateway, auditor, kind="signing_key_rotated")
    assert keys[0]["actor"] == "operator" and keys[0]["detail"]["retired"]


async def test_the_trail_filters_by_source_network_and_pages(
    gateway: httpx.AsyncClient, auditor: str
) -> None:
    nobody = factories.username()
    for _ in range(3):
        await login(gateway, nobody, "wrong password here")
    first = await gateway.get(TRAIL, params={"actor": nobody, "limit": 2},
                              headers=bearer(auditor))
    assert first.json()["total"] == 3 and len(first.json()["items"]) == 2
    local = await trail(gateway, auditor, actor=nobody, source="127.0.0.0/8")
    elsewhere = await trail(gateway, auditor, actor=nobody, source="10.0.0.0/8")
    assert len(local) == 3 and elsewhere == []


async def test_the_trail_cannot_be_changed_even_in_the_database(
    infrastructure: Infrastructure, auditor: str, gateway: httpx.AsyncClient
) -> None:
    await trail(gateway, auditor)
    engine = create_engine(infrastructure.database_url, schema="authorization")
    try:
        for statement in ("update security_event set actor = 'someone else'",
                          "delete from security_event", "truncate security_event"):
            async with engine.begin() as connection:
                with pytest.raises(DBAPIError, match="append-only"):
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


# --- client secrets ---------------------------------------------------------------------------


async def rotate(gateway: httpx.AsyncClient, admin_token: str, client: dict[str, str],
                 **body: int) -> dict[str, str]:
    response = await gateway.post(f"{CLIENTS}/{client['client_id']}/rotate-secret",
                                  json=body, headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_rotated_secret_works_and_the_old_one_stops_after_the_overlap(
    gateway: httpx.AsyncClient, admin_token: str, make_client: SystemClientFactory,
    clock: NodeClock
) -> None:
    old = await make_client("data_operator")
    new = await rotate(gateway, admin_token, old, old_secret_valid_seconds=600)
    assert new["client_secret"] != old["client_secret"]
    assert (await client_token(gateway, new)).status_code == 200
    assert (await client_token(gateway, old)).status_code == 200  # within the overlap

    await clock.advance(hours=0.2)
    refused = await client_token(gateway, old)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("/client-secret-expired")
    assert (refused.json()["error"], refused.json()["reason"]) == ("invalid_client",
                                                                   "secret_rotated")
    assert (await client_token(gateway, new)).status_code == 200


async def test_a_secret_rotated_without_overlap_stops_at_once(
    gateway: httpx.AsyncClient, admin_token: str, make_client: SystemClientFactory
) -> None:
    old = await make_client("data_operator")
    new = await rotate(gateway, admin_token, old)
    assert new["previous_secret_expires_at"] is None
    assert (await client_token(gateway, old)).status_code == 401
    assert (await client_token(gateway, new)).status_code == 200


async def test_an_expired_secret_is_refused(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str], clock: NodeClock
) -> None:
    client = (await gateway.post(CLIENTS, headers=bearer(admin_token), json={
        "name": "社保核验系统", "department": department["credit_code"],
        "roles": ["data_operator"], "secret_valid_days": 1})).json()
    assert (await client_token(gateway, client)).status_code == 200

    await clock.advance(days=2)
    response = await client_token(gateway, client)
    assert response.status_code == 401
    assert response.json()["reason"] == "secret_expired"
    assert "expired" in response.json()["detail"]


# --- allow-listed networks ---------------------------------------------------------------


async def token_from(gateway: httpx.AsyncClient, client: dict[str, str],
                     **headers: str) -> httpx.Response:
    return await gateway.post("/oauth/token", headers=headers, data={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]})


async def test_a_token_request_from_outside_the_allowed_networks_is_refused_spoofed_or_not(
    gateway: httpx.AsyncClient, admin_token: str, department: dict[str, str]
) -> None:
    client = (await gateway.post(CLIENTS, headers=bearer(admin_token), json={
        "name": "不动产登记系统", "department": department["credit_code"],
        "allowed_networks": ["10.20.0.0/16"]})).json()
    assert client["allowed_networks"] == ["10.20.0.0/16"]
    for spoof in ({}, SPOOFED, {"X-Forwarded-For": "10.20.1.1, 10.20.1.2"},
                  {"X-Real-IP": "10.20.1.1", "Forwarded": "for=10.20.1.1"}):
        response = await token_from(gateway, client, **spoof)
        assert response.status_code == 401, spoof
        assert response.json()["reason"] == "source_network"

    await gateway.put(f"{CLIENTS}/{client['client_id']}/allowed-networks",
                      json={"allowed_networks": ["127.0.0.0/8"]}, headers=bearer(admin_token))
    assert (await token_from(gateway, client, **SPOOFED)).status_code == 200


@pytest.fixture
def gateway_behind_a_proxy(node: RunningNode, infrastructure: Infrastructure
                           ) -> Iterator[str]:
    """A second gateway of the node that believes X-Forwarded-For from 127.0.0.1, as one
    behind an Ingress on that address would."""
    port = free_port()
    env = dict(os.environ, GOVSHARE_SERVICES=json.dumps(node.service_urls),
               GOVSHARE_NODE_ID="test-node",
               GOVSHARE_TRUSTED_PROXIES='["127.0.0.1/32"]')
    process = _spawn("gateway.app:create_app", port, env,
                     infrastructure.workdir / "gateway-behind-proxy.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
async def behind_proxy(gateway_behind_a_proxy: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_behind_a_proxy, timeout=30) as client:
        yield client


async def test_behind_a_trusted_proxy_the_address_it_saw_counts_and_nothing_left_of_it(
    gateway: httpx.AsyncClient, behind_proxy: httpx.AsyncClient, admin_token: str,
    department: dict[str, str]
) -> None:
    client = (await gateway.post(CLIENTS, headers=bearer(admin_token), json={
        "name": "公积金系统", "department": department["credit_code"],
        "allowed_networks": ["10.20.0.0/16"]})).json()
    # The proxy appended the caller it saw (10.20.1.1): allowed.
    assert (await token_from(behind_proxy, client, **SPOOFED)).status_code == 200
    # A caller outside wrote an allowed address itself; the proxy appended the real one.
    spoofed = await token_from(behind_proxy, client,
                               **{"X-Forwarded-For": "10.20.1.1, 203.0.113.9"})
    assert spoofed.status_code == 401
    assert "203.0.113.9" in spoofed.json()["detail"]


async def test_an_account_that_held_two_duties_before_is_set_right_at_the_machine(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, admin_token: str,
    auditor: str
) -> None:
    username = await new_user(gateway, admin_token, "node_admin")
    engine = create_engine(infrastructure.database_url, schema="authorization")
    try:
        async with engine.begin() as connection:  # as an older version let it be
            await connection.execute(text(
                "update user_account set roles = '{node_admin,auditor}' where username = :u"),
                {"u": username})
    finally:
        await engine.dispose()
    refused = await gateway.patch(f"{USERS}/{username}", json={"roles": ["node_admin"]},
                                  headers=bearer(admin_token))
    assert refused.json()["reason"] == "not_your_duty"

    both = govshare(infrastructure, "user", "roles", "--username", username,
                    "--role", "node_admin", "--role", "auditor")
    assert both.returncode == 1 and "三员分立" in both.stderr
    fixed = govshare(infrastructure, "user", "roles", "--username", username,
                     "--role", "node_admin")
    assert fixed.returncode == 0, fixed.stderr
    changed = await trail(gateway, auditor, target=username, kind="user_roles_changed",
                          outcome="succeeded")
    assert changed[0]["actor"] == "operator"
    assert changed[0]["detail"]["after"] == ["node_admin"]
