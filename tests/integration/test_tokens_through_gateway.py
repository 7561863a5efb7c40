"""G1: a department system authenticates at the gateway; every failure is the right problem."""

from __future__ import annotations

import asyncio
import base64

import httpx
from sqlalchemy import text

from shared import sealing
from shared.db import create_engine
from shared.tokens import SigningKey, generate_signing_key, issue_token
from tests.conftest import Infrastructure
from tests.integration.conftest import SystemClientFactory, bearer, client_token

ME = "/api/authorization/me"


async def test_department_system_gets_token_and_calls_protected_endpoint(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory, department: dict[str, str]
) -> None:
    client = await make_client("data_operator")
    token_response = await client_token(gateway, client)
    assert token_response.status_code == 200
    token = token_response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0

    me = await gateway.get(ME, headers=bearer(token["access_token"]))

    assert me.status_code == 200
    assert me.json()["subject"] == client["client_id"]
    assert me.json()["department"] == department["credit_code"]
    assert me.json()["roles"] == ["data_operator"]


async def test_http_basic_client_authentication_is_accepted(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory
) -> None:
    client = await make_client()
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
    response = await gateway.post("/oauth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {basic.decode()}"})
    assert response.status_code == 200


async def test_wrong_secret_is_invalid_client(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory
) -> None:
    client = await make_client()
    response = await client_token(gateway, {**client, "client_secret": "not-the-secret"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error"] == "invalid_client"
    assert response.json()["type"].endswith("/invalid-client")


async def test_unsupported_grant_type_is_named(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/oauth/token", data={"grant_type": "password"})
    assert response.status_code == 422
    assert response.json()["error"] == "unsupported_grant_type"


async def test_missing_token_is_401(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(ME)
    assert response.status_code == 401
    assert response.json()["reason"] == "token_missing"
    assert response.headers["www-authenticate"] == "Bearer"


async def _node_key(infrastructure: Infrastructure) -> SigningKey:
    engine = create_engine(infrastructure.database_url, schema="authorization")
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text(
                "select kid, private_pem from signing_key where retired_at is null "
                "order by created_at desc limit 1"))).one()
    finally:
        await engine.dispose()
    # Sealed in the database: whoever signs with it needs the node's KEK as well.
    return SigningKey(row.kid, sealing.sealer().open(
        row.private_pem, context=f"authorization.signing_key:{row.kid}"))


def _claims(department: dict[str, str]) -> dict[str, object]:
    return {"iss": "test-node", "sub": "gsc_forged", "kind": "client", "node": "test-node",
            "department": department["credit_code"], "roles": ["node_admin"]}


async def test_expired_token_is_401(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, department: dict[str, str],
    admin_token: str,
) -> None:
    expired = issue_token(await _node_key(infrastructure), _claims(department), ttl_seconds=-5)
    response = await gateway.get(ME, headers=bearer(expired))
    assert response.status_code == 401
    assert response.json()["reason"] == "token_expired"


async def test_a_node_token_this_node_made_for_another_is_no_use_here(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, department: dict[str, str],
    admin_token: str,
) -> None:
    """What this node signs for a linked node (a department's roles, `aud` that node) must
    not act here when the linked node, or anyone who took it there, sends it back."""
    for_other = issue_token(await _node_key(infrastructure), {
        **_claims(department), "kind": "node", "aud": "320000-internal",
        "act": "someone", "roles": ["data_operator", "request_reviewer"]}, ttl_seconds=300)
    for path in (ME, "/api/authorization/requests", "/api/exchange/audit"):
        response = await gateway.get(path, headers=bearer(for_other))
        assert (response.status_code, response.json()["reason"]) == (401, "token_audience"), \
            path


async def test_token_signed_by_a_foreign_key_is_401(
    gateway: httpx.AsyncClient, department: dict[str, str], admin_token: str
) -> None:
    forged = issue_token(generate_signing_key(), _claims(department), ttl_seconds=300)
    response = await gateway.get(ME, headers=bearer(forged))
    assert response.status_code == 401
    assert response.json()["reason"] == "token_unknown_key"


async def test_foreign_key_claiming_the_node_key_id_is_401(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, department: dict[str, str],
    admin_token: str,
) -> None:
    real = await _node_key(infrastructure)
    impostor = SigningKey(real.kid, generate_signing_key().private_pem)
    forged = issue_token(impostor, _claims(department), ttl_seconds=300)
    response = await gateway.get(ME, headers=bearer(forged))
    assert response.status_code == 401
    assert response.json()["reason"] == "token_invalid"


async def test_revoked_client_gets_no_new_token(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory, admin_token: str
) -> None:
    client = await make_client("data_operator")
    assert (await client_token(gateway, client)).status_code == 200

    revoked = await gateway.post(f"/api/authorization/clients/{client['client_id']}/revoke",
                                 json={"reason": "系统下线"}, headers=bearer(admin_token))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    response = await client_token(gateway, client)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_missing_role_is_403_naming_the_role(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory
) -> None:
    client = await make_client("data_operator")
    token = (await client_token(gateway, client)).json()["access_token"]
    response = await gateway.get("/api/authorization/departments", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["required_roles"] == ["node_admin"]


async def test_rate_limit_answers_429_with_retry_after(
    gateway: httpx.AsyncClient, make_client: SystemClientFactory
) -> None:
    client = await make_client()
    token = (await client_token(gateway, client)).json()["access_token"]
    # The test node allows a burst of 100 at 50/s: calls 200 at a time overflow it, as soon
    # as the gateway serves them faster than 50/s (a loaded machine may take a few rounds).
    limited: list[httpx.Response] = []
    async with asyncio.timeout(60):
        while not limited:
            responses = await asyncio.gather(*(gateway.get(ME, headers=bearer(token))
                                               for _ in range(200)))
            limited = [r for r in responses if r.status_code == 429]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["type"].endswith("/rate-limited")


async def test_request_id_is_echoed(gateway: httpx.AsyncClient, admin_token: str) -> None:
    response = await gateway.get(ME, headers={**bearer(admin_token),
                                              "X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


async def test_staff_login_with_wrong_password_is_401(gateway: httpx.AsyncClient,
                                                      admin_token: str) -> None:
    response = await gateway.post("/auth/login", json={"username": "nobody-here",
                                                       "password": "whatever it is"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-login")


async def test_client_secrets_are_stored_only_as_hashes(
    infrastructure: Infrastructure, make_client: SystemClientFactory
) -> None:
    client = await make_client()
    engine = create_engine(infrastructure.database_url, schema="authorization")
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(
                text("select * from client where client_id = :id"),
                {"id": client["client_id"]})).one()
    finally:
        await engine.dispose()
    assert client["client_secret"] not in " ".join(str(value) for value in row)


async def test_an_encoded_path_reaches_the_service_as_sent(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    # %2F stays encoded on the way; an encoded service name still routes.
    for path in ("/api/catalog/entries/101001%2F000001", "/api/%63atalog/entries/1/000001"):
        response = await gateway.get(path, headers={"Authorization": f"Bearer {admin_token}"})
        assert response.status_code == 404, (path, response.text)
        assert response.json()["status"] == 404
