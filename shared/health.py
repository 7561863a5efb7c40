"""Health that tells the truth: every check reaches its dependency when it is asked, within a
bound, so a dead database or broker reads `down` (with the reason) within seconds.

Three questions, three answers, on every service and on the gateway:

- `/health/live`: the process answers. Restarting it would not bring a database back, so a
  dependency never makes it fail (the liveness probe).
- `/health/ready`: the process can do its work: its dependencies answer now (the readiness
  probe). 503 otherwise, with the same report as `/health`.
- `/health`: the full report, one entry per dependency; 503 when any is down.

The result of every check is also the gauge `govshare_dependency_up{dependency}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse

from shared.metrics import dependency_up

# Long enough for a loaded database to answer a ping, short enough for a probe's 3 s timeout
# and for a person looking at /health while something is down.
CHECK_SECONDS = 2.0
LIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The process answers."}}
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {503: {
    "description": "A dependency is down: the same report, naming it and why.",
    "content": {"application/json": {"schema": {"type": "object"}}}}}

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


async def check_dependencies(checks: Mapping[str, HealthCheck],
                             seconds: float = CHECK_SECONDS) -> dict[str, Any]:
    """Run every check at once, each bounded by `seconds`; `status` is up only if all are.
    Sets `govshare_dependency_up` for each."""
    names = list(checks)
    results = await asyncio.gather(*(_check(checks[name], seconds) for name in names))
    report: dict[str, Any] = dict(zip(names, results, strict=True))
    for name, result in zip(names, results, strict=True):
        dependency_up.labels(name).set(1 if result["status"] == "up" else 0)
    report["status"] = "up" if all(result["status"] == "up" for result in results) else "down"
    return report


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
