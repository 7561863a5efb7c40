"""The node's whole API under generated calls (schemathesis, from the combined OpenAPI
document the gateway serves), as each of the platform's roles and as nobody: no server
error, every status, schema, media type and header as documented, input the schema refuses
refused, and the node healthy afterwards.

It changes the node as any caller could (it loads calendars, files entries, changes the
scoring method), so it runs after every other test of the session (the `last` mark).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests import factories
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    ADMIN_PASSWORD,
    SystemClientFactory,
    bearer,
    client_token,
    new_admin,
)

# Every check but positive_data_acceptance: input the schema admits may still break a
# rule no schema can say (a check digit, a period not yet begun, C1–C5 across fields), and
# the service answers that 422 with the rule and its article, as it should. ignored_auth
# sends each call answered 2xx again without the token and with a wrong one (the document
# says which operations need one). object_level_authorization stays idle: it wants two
# identities' logins as "peers" of a WFC auth file, and objects they read by id, which no
# generated id finds; one department reading another's is tested where the objects exist
# (test_sharing_workflow.py, test_exchange.py).
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Enough to reach every operation with valid, boundary and random input under the test
# node's rate limit (50/s a client: 429s would hide what they cover). The runs are at once,
# each with the same budget, so the suite waits for one budget, not one a run; schemathesis
# shares it out over the operations and repeats fuzzing until it is spent.
EXAMPLES_PER_OPERATION = "6"
BUDGET_SECONDS = 60
# What a run that ran out of budget before calling some of its operations (on a loaded
# machine) has to call them: the suite then takes longer, but the run does not shrink.
CATCH_UP_SECONDS = 30
RATE = "45/s"
# No stateful phase: the document declares no links, and of the 83 schemathesis guesses
# from names a stateful run of the department's operations followed none (20 scenarios,
# 0 links covered): every chain worth following needs another party's step (a request
# answered by its provider, a grant in force, an entry published), which no single caller
# gives. It would only take budget from the fuzzing; the workflows are the other tests'
# (test_sharing_workflow.py and the like).
PHASES = "examples,coverage,fuzzing"
CATCH_UP_PHASES = "examples,coverage"
DEPARTMENT_ROLES = (Role.catalog_editor, Role.request_reviewer, Role.data_operator,
                    Role.auditor)
# Each operation is called by the one caller whose work it is, so that together the runs
# call each once within the budget (a run of every operation each, beside the others,
# called about half of them on a loaded machine). What is not named here is a department's.
ADMINISTRATION = re.compile(
    r"/api/(authorization/(node|departments|clients|arbitration-bodies|federation)"
    r"|authorization/requests/[^/]+/decision"  # the arbiter's
    r"|catalog/(calendar|responsibilities|base-subjects|federation|thesaurus)"
    r"|evaluation/(scoring-method|model|report-submissions|federation)"
    r"|exchange/federation)\b")
STAFF_ADMINISTRATION = re.compile(r"/api/authorization/users\b")
OVERSIGHT = re.compile(
    r"/api/(authorization/security-events|catalog/supervision|exchange/(audit|cross-checks)"
    r"|evaluation/(indicators|scores|rectifications|funding-eligibility|reports))\b")

Operations = Callable[[str], bool]
"""Which operations of the document, by path, a caller's run calls."""


def public(path: str) -> bool:
    """The gateway's own operations, for anyone: tokens, keys, open data, health."""
    return not path.startswith("/api/")


def administration(path: str) -> bool:
    """The system administrator's (the node, departments, their systems, the links to other
    nodes, the calendar, the search thesaurus, the scoring method, the reports handed to the
    parent node and the children's) and the arbiter's."""
    return ADMINISTRATION.match(path) is not None


def staff_administration(path: str) -> bool:
    """The security administrator's duty: the accounts of the oversight roles."""
    return STAFF_ADMINISTRATION.match(path) is not None


def oversight(path: str) -> bool:
    """The auditor's: the trails, the cross-checks, the supervision of every department's
    catalog and its evaluation."""
    return OVERSIGHT.match(path) is not None


def departments_work(path: str) -> bool:
    """Everything else: a department system's catalog, requests, grants, data, filings."""
    return not any(other(path) for other in (public, administration, staff_administration,
                                             oversight))


@dataclass(frozen=True)
class Caller:
    """One run: who calls (with which roles), its token (none: anonymous), what it calls."""

    who: str
    token: str | None
    operations: Operations


def labels(document: dict[str, Any], operations: Operations) -> list[str]:
    """The operations of `document` a caller's run calls, as schemathesis names them."""
    return [f"{method.upper()} {path}" for path, methods in document["paths"].items()
            if operations(path) for method in methods if method != "parameters"]


def run_schemathesis(gateway_url: str, document: Path, caller: Caller, operations: list[str],
                     *, phases: str, budget: int,
                     report: Path) -> subprocess.CompletedProcess[str]:
    """Schemathesis over `operations` of the whole `document` (which must stay whole: a
    method it does not list for a path is expected to be answered 405), as `caller`."""
    executable = shutil.which("st", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is a dev dependency: make test installs it"
    token = ["--header", f"Authorization: Bearer {caller.token}"] if caller.token else []
    chosen = [argument for label in operations for argument in ("--include-name", label)]
    return subprocess.run(
        [executable, "--config-file", str(CONFIG), "run", str(document), "--url", gateway_url,
         "--checks", CHECKS, "--exclude-checks", EXCLUDED_CHECKS, *token, *chosen,
         "--max-examples", EXAMPLES_PER_OPERATION, "--max-time", str(budget),
         "--phases", phases, "--seed", "20261128",
         "--generation-database", "none", "--no-shrink", "--workers", "1",
         "--rate-limit", RATE,
         "--request-timeout", "30", "--report", "junit", "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=budget + 120, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks"})


@dataclass(frozen=True)
class Run:
    """What one caller's run said, and the operations it never called."""

    outputs: list[subprocess.CompletedProcess[str]]
    not_called: list[str]


def run_as(gateway_url: str, document: Path, caller: Caller, operations: list[str],
           reports: Path) -> Run:
    """Every operation of `operations` called as `caller` (caught up if the budget ran out
    first); a run that failed is not caught up, its output says why."""
    run = run_schemathesis(gateway_url, document, caller, operations, phases=PHASES,
                           budget=BUDGET_SECONDS, report=reports / "run.xml")
    missed = not_called(reports / "run.xml") if run.returncode == 0 else []
    if not missed:
        return Run([run], [])
    again = run_schemathesis(gateway_url, document, caller, missed, phases=CATCH_UP_PHASES,
                             budget=CATCH_UP_SECONDS, report=reports / "again.xml")
    return Run([run, again], not_called(reports / "again.xml") if again.returncode == 0
               else [])


def not_called(report: Path) -> list[str]:
    """The operations a run never called (skipped in every phase, the JUnit report says)."""
    return [case.attrib["name"] for case in ElementTree.parse(report).iter("testcase")
            if case.find("skipped") is not None]


async def staff_token(gateway: httpx.AsyncClient, administrator: str, *roles: Role) -> str:
    """A token of a staff user holding `roles`, made by `administrator`, whose duty they
    are (三员分立)."""
    user = {"username": factories.username(), "display_name": "李娜",
            "roles": list(roles), "password": ADMIN_PASSWORD}
    added = await gateway.post("/api/authorization/users", json=user,
                               headers=bearer(administrator))
    assert added.status_code == 201, added.text
    login = await gateway.post("/auth/login", json={"username": user["username"],
                                                    "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def callers(gateway: httpx.AsyncClient, infrastructure: Infrastructure,
                  node: RunningNode, admin_token: str,
                  make_client: SystemClientFactory) -> list[Caller]:
    """Every role of the platform in some caller's token, the three administrators apart
    (三员分立), and nobody's."""
    system = (await client_token(gateway, await make_client(*DEPARTMENT_ROLES))).json()
    security_admin = await new_admin(infrastructure, node, Role.security_admin)
    return [
        Caller("department system (catalog_editor, request_reviewer, data_operator, auditor)",
               system["access_token"], departments_work),
        # The competent authority's staff: whatever no department system may hold.
        Caller("system administrator and arbiter (node_admin, arbiter)",
               await staff_token(gateway, admin_token, Role.node_admin, Role.arbiter),
               administration),
        Caller("security administrator (security_admin)", security_admin,
               staff_administration),
        Caller("staff auditor (auditor)",
               await staff_token(gateway, security_admin, Role.auditor), oversight),
        Caller("anonymous caller", None, public),
    ]


async def whole_document(gateway: httpx.AsyncClient, node: RunningNode) -> dict[str, Any]:
    """The combined document, checked to hold every service's operations: one the gateway
    could not reach would be left out (and named), and the run would shrink in silence."""
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert not document["info"].get("x-unavailable-services"), document["info"]
    routed = {path.split("/")[2] for path in document["paths"] if path.startswith("/api/")}
    assert routed == set(node.service_urls), routed
    return document


async def healthy_again(gateway: httpx.AsyncClient) -> None:
    """The node reports every part up again, soon: a model rebuild a run started may keep
    the evaluation busy a little past the runs."""
    for _ in range(30):
        health = await gateway.get("/health")
        if health.status_code == 200:
            break
        await asyncio.sleep(1)
    assert health.status_code == 200 and health.json()["status"] == "up", health.text


@pytest.mark.last
async def test_generated_calls_get_no_server_error_and_answers_match_the_document(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, node: RunningNode,
    admin_token: str, make_client: SystemClientFactory, tmp_path: Path
) -> None:
    document = await whole_document(gateway, node)
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    everyone = await callers(gateway, infrastructure, node, admin_token, make_client)
    chosen = [labels(document, caller.operations) for caller in everyone]
    reports = [tmp_path / f"caller-{number}" for number in range(len(everyone))]
    for directory in reports:
        directory.mkdir()
    # At once: each token is its own client under the rate limit, so the runs share nothing
    # but the node.
    runs = await asyncio.gather(*(
        asyncio.to_thread(run_as, node.gateway_url, path, caller, operations, report)
        for caller, operations, report in zip(everyone, chosen, reports, strict=True)))
    failed = [f"as the {caller.who}:\n{output.stdout[-20000:]}"
              for caller, run in zip(everyone, runs, strict=True) for output in run.outputs
              if output.returncode != 0]
    failed += [f"as the {caller.who}, never called: {run.not_called}"
               for caller, run in zip(everyone, runs, strict=True) if run.not_called]
    assert not failed, "\n\n".join(failed)
    await healthy_again(gateway)
    # The callers' tokens still work: nothing the generated calls did broke the node.
    assert (await gateway.get("/api/authorization/me", headers=bearer(admin_token))
            ).status_code == 200
