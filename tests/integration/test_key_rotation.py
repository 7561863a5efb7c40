"""G2: a node rotates its signing key; old tokens stay valid, new ones use the new key."""

from __future__ import annotations

import httpx

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
