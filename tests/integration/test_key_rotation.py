"""G2: a node rotates its signing key; old tokens stay valid, new ones use the new key."""

from __future__ import annotations

import httpx
from jose import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.tokens import generate_signing_key, issue_token
from tests.conftest import Infrastructure
from tests.integration.conftest import SystemClientFactory, bearer, client_token
from tests.integration.test_cli import govshare


async def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, make_client: SystemClientFactory
) -> None:
    client = await make_client("auditor")
    old_token = (await client_token(gateway, client)).json()["access_token"]
    old_kids = {k["kid"] for k in (await gateway.get("/.well-known/jwks.json")).json()["keys"]}

    rotated = govshare(infrastructure, "node", "init", "--name", "南京市政务数据共享交换平台",
                       "--tier", "municipal", "--region", "320100", "--zone", "external",
                       "--rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "(new)" in rotated.stdout

    kids = {k["kid"] for k in (await gateway.get("/.well-known/jwks.json")).json()["keys"]}
    assert old_kids < kids  # the retired key stays published for its grace period
    new_token = (await client_token(gateway, client)).json()["access_token"]
    assert (await gateway.get("/api/authorization/me", headers=bearer(old_token))).status_code \
        == 200
    assert (await gateway.get("/api/authorization/me", headers=bearer(new_token))).status_code \
        == 200


async def test_the_database_holds_no_usable_signing_key_and_a_key_written_in_is_none(
    gateway: httpx.AsyncClient, authorization_db: AsyncEngine, make_client: SystemClientFactory
) -> None:
    async with authorization_db.begin() as connection:
        stored = (await connection.execute(text("SELECT kid, private_pem FROM signing_key")))\
            .all()
    assert stored and all(pem.startswith("sealed:") and "PRIVATE KEY" not in pem
                          for _, pem in stored)

    # Whoever can write the database but holds no KEK puts a key of their own in, newest of
    # all: it is no key of the node's. It signs nothing, is not published, and what it signs
    # is refused.
    planted = generate_signing_key()
    async with authorization_db.begin() as connection:
        await connection.execute(text(
            "INSERT INTO signing_key (kid, private_pem, created_at) "
            "VALUES (:k, :p, now() + interval '1 hour')"),
            {"k": planted.kid, "p": planted.private_pem})
    try:
        published = {k["kid"] for k in (await gateway.get("/.well-known/jwks.json")).json()[
            "keys"]}
        assert planted.kid not in published
        client = await make_client("auditor")
        issued = (await client_token(gateway, client)).json()["access_token"]
        assert jwt.get_unverified_header(issued)["kid"] != planted.kid
        forged = issue_token(planted, {"iss": "test-node", "sub": "insider", "kind": "user",
                                       "node": "test-node", "roles": ["node_admin"]}, 300)
        refused = await gateway.get("/api/authorization/me", headers=bearer(forged))
        assert (refused.status_code, refused.json()["reason"]) == (401, "token_unknown_key")
    finally:
        async with authorization_db.begin() as connection:
            await connection.execute(text("DELETE FROM signing_key WHERE kid = :k"),
                                     {"k": planted.kid})
