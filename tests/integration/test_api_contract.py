"""The node's whole API under generated calls (schemathesis, from the combined OpenAPI
document the gateway serves), with a department system's token and the competent
authority's: no server error, every status, schema, media type and header as documented,
input the schema refuses refused, and the node healthy afterwards.

It changes the node as any caller could (it loads calendars, files entries, changes the
scoring method), so it runs after every other test of the session (the `last` mark).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.conftest import RunningNode
from tests.integration.conftest import (
    ADMIN_PASSWORD,
    SystemClientFactory,
    bearer,
    client_token,
)

# Every check but positive_data_acceptance: input the schema admits may still break a
# rule no schema can say (a check digit, a period not yet begun, C1–C5 across fields), and
# the service answers that 422 with the rule and its article, as it should.
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Enough to reach every operation with valid, boundary and random input, within minutes,
# under the test node's rate limit (50/s a client: 429s would hide what they cover).
EXAMPLES_PER_OPERATION = "6"
TIME_BUDGET_SECONDS = "70"
RATE = "45/s"
PHASES = "examples,coverage,fuzzing"
DEPARTMENT_ROLES = ("catalog_editor", "request_reviewer", "data_operator", "auditor")


def run_schemathesis(gateway_url: str, token: str,
                     report: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("st", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is a dev dependency: make test installs it"
    return subprocess.run(
        [executable, "--config-file", str(CONFIG), "run", f"{gateway_url}/openapi.json",
         "--url", gateway_url,
         "--checks", CHECKS, "--exclude-checks", EXCLUDED_CHECKS,
         "--header", f"Authorization: Bearer {token}",
         "--max-examples", EXAMPLES_PER_OPERATION, "--max-time", TIME_BUDGET_SECONDS,
         "--phases", PHASES, "--seed", "20261128",
         "--generation-database", "none", "--no-shrink", "--workers", "1",
         "--rate-limit", RATE,
         "--request-timeout", "30", "--report", "junit", "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=int(TIME_BUDGET_SECONDS) + 120, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks"})


async def authority_token(gateway: httpx.AsyncClient, admin_token: str) -> str:
    """A token of the competent authority's staff: the node's administrator and arbiter
    (every role a department system does not hold)."""
    user = {"username": factories.username(), "display_name": "李娜",
            "roles": ["node_admin", "arbiter"], "password": ADMIN_PASSWORD}
    added = await gateway.post("/api/authorization/users", json=user,
                               headers=bearer(admin_token))
    assert added.status_code == 201, added.text
    login = await gateway.post("/auth/login", json={"username": user["username"],
                                                    "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


@pytest.mark.last
async def test_generated_calls_get_no_server_error_and_answers_match_the_document(
    gateway: httpx.AsyncClient, node: RunningNode, admin_token: str,
    make_client: SystemClientFactory, tmp_path: Path
) -> None:
    system = (await client_token(gateway, await make_client(*DEPARTMENT_ROLES))).json()
    tokens = {"department system": system["access_token"],
              "competent authority": await authority_token(gateway, admin_token)}
    # At once: each token is its own client under the rate limit, so the two runs share
    # nothing but the node, and the suite waits for one time budget, not two.
    results = await asyncio.gather(*(
        asyncio.to_thread(run_schemathesis, node.gateway_url, token, tmp_path / f"{role}.xml")
        for role, token in tokens.items()))
    for role, result in zip(tokens, results, strict=True):
        assert result.returncode == 0, f"as a {role}:\n{result.stdout[-30000:]}"
    health = await gateway.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "up", health.text
    # The callers' tokens still work: nothing the generated calls did broke the node.
    assert (await gateway.get("/api/authorization/me", headers=bearer(admin_token))
            ).status_code == 200
