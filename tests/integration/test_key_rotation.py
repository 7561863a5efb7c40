"""G2: a node rotates its signing key; old tokens stay valid, new ones use the new key."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.authorization.node_keys import reseal_signing_keys
from shared import sealing
from shared.db import create_session_factory, transaction
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


async def test_the_database_holds_no_usable_signing_key_and_a_plain_one_is_sealed(
    gateway: httpx.AsyncClient, authorization_db: AsyncEngine, make_client: SystemClientFactory
) -> None:
    async with authorization_db.begin() as connection:
        stored = (await connection.execute(text("SELECT kid, private_pem FROM signing_key")))\
            .all()
    assert stored and all(pem.startswith("sealed:") and "PRIVATE KEY" not in pem
                          for _, pem in stored)

    # A key kept in plain (a node upgraded from before sealing) is sealed under the KEK,
    # and still signs: the same key, not a new one.
    kid, pem = stored[-1]
    plain = sealing.sealer().open(pem, context=f"authorization.signing_key:{kid}")
    async with authorization_db.begin() as connection:
        await connection.execute(text("UPDATE signing_key SET private_pem = :p WHERE kid = :k"),
                                 {"p": plain, "k": kid})
    sessions = create_session_factory(authorization_db)
    async with transaction(sessions) as session:
        assert await reseal_signing_keys(session) == 1
    async with authorization_db.begin() as connection:
        resealed = (await connection.execute(text(
            "SELECT private_pem FROM signing_key WHERE kid = :k"), {"k": kid})).scalar_one()
    assert resealed.startswith("sealed:") and resealed != pem
    client = await make_client("auditor")
    assert (await client_token(gateway, client)).status_code == 200
