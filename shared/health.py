"""Health that tells the truth: every check reaches its dependency when it is asked, within a
bound, so a dead database or broker reads `down` (with the reason) within seconds.

Three questions, three answers, on every service and on the gateway:

- `/health/live`: the process answers. Restarting it would not bring a database back, so a
  dependency never makes it fail (the liveness probe).
- `/health/ready`: this process can serve: it started and holds the keys that verify tokens
  (the readiness probe). What every replica shares (the database, the broker, the other
  services) is not asked: were it down, every replica would leave the load balancer at
  once, and callers would get its bare 503 instead of our problems with Retry-After, even
  for what needs no such dependency. A replica that cannot serve while the others can is
  the one to take out, and only its own state tells it apart.
- `/health`: the full report, one entry per dependency; 503 when any is down.

The result of every dependency's check is also the gauge `govshare_dependency_up{dependency}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse

from shared.metrics import dependency_up
from shared.tokens import TokenVerifier

# Long enough for a loaded database to answer a ping, short enough for a probe's 3 s timeout
# and for a person looking at /health while something is down.
CHECK_SECONDS = 2.0
LIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The process answers."}}
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {503: {
    "description": "A dependency is down: the same report, naming it and why.",
    "content": {"application/json": {"schema": {"type": "object"}}}}}
READY_RESPONSES: dict[int | str, dict[str, Any]] = {503: {
    "description": "This process cannot serve yet (its keys were never fetched): what is "
                   "missing, and why.",
    "content": {"application/json": {"schema": {"type": "object"}}}}}

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


async def check_dependencies(checks: Mapping[str, HealthCheck],
                             seconds: float = CHECK_SECONDS) -> dict[str, Any]:
    """Run every check at once, each bounded by `seconds`; `status` is up only if all are.
    Sets `govshare_dependency_up` for each."""
    report = await run_checks(checks, seconds)
    for name in checks:
        dependency_up.labels(name).set(1 if report[name]["status"] == "up" else 0)
    return report


async def run_checks(checks: Mapping[str, HealthCheck],
                     seconds: float = CHECK_SECONDS) -> dict[str, Any]:
    """Run every check at once, each bounded by `seconds`; `status` is up only if all are."""
    names = list(checks)
    results = await asyncio.gather(*(_check(checks[name], seconds) for name in names))
    report: dict[str, Any] = dict(zip(names, results, strict=True))
    report["status"] = "up" if all(result["status"] == "up" for result in results) else "down"
    return report


def keys_loaded(verifier: TokenVerifier) -> HealthCheck:
    """Ready once the keys that verify tokens were fetched: fetched once, they go on
    verifying while their issuer is away, so only a replica that never had them (just
    started while the identity service was away) is kept out, and the old replicas of a
    rollout go on serving meanwhile."""

    async def check() -> dict[str, Any]:
        if not await verifier.ready():
            raise RuntimeError("the keys that verify tokens were never fetched yet")
        return {}

    return check


async def _check(check: HealthCheck, seconds: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(seconds):
            return {"status": "up", **(await check())}
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {seconds:g} s"}
    except Exception as error:  # a health report describes failures, it does not raise them
        reason = str(error)
        return {"status": "down",
                "error": f"{type(error).__name__}: {reason}" if reason else type(error).__name__}


def report_response(report: dict[str, Any]) -> JSONResponse:
    """The report, 200 when everything is up and 503 otherwise (what probes read)."""
    return JSONResponse(report, status_code=200 if report["status"] == "up" else 503)


def alive() -> dict[str, str]:
    """The liveness answer: if this is sent, the process and its event loop work."""
    return {"status": "up"}
