"""Node health: each service's own report, and from them the database and the broker."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared.metrics import dependency_up

# A service bounds its own checks (shared.health.CHECK_SECONDS): one that takes longer than
# this to answer is itself in trouble.
SERVICE_SECONDS = 3.0


async def node_health(services: dict[str, str], client: httpx.AsyncClient) -> dict[str, Any]:
    """Ask every service for its health; `status` is up only if everything is. Sets
    `govshare_dependency_up` for each service, the database and the broker."""
    reports = await asyncio.gather(*(_service_health(client, url) for url in services.values()))
    by_service = dict(zip(services, reports, strict=True))
    report: dict[str, Any] = {
        "gateway": {"status": "up"},
        "services": by_service,
        "database": _dependency(by_service, "database"),
        "broker": _dependency(by_service, "broker"),
    }
    for name, part in (*by_service.items(), ("database", report["database"]),
                       ("broker", report["broker"])):
        dependency_up.labels(name).set(1 if part.get("status") == "up" else 0)
    parts = [report["database"], report["broker"], *by_service.values()]
    report["status"] = "up" if all(part.get("status") == "up" for part in parts) else "down"
    return report


async def _service_health(client: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    try:
        # The body is the report whatever the status (503 when something is down).
        response = await client.get(f"{base_url.rstrip('/')}/health", timeout=SERVICE_SECONDS)
        return response.json()
    except (httpx.HTTPError, ValueError) as error:
        return {"status": "down", "error": f"{type(error).__name__}: {error}"}


def _dependency(by_service: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """A dependency is up if every service that reached it says so."""
    seen = [report[name] for report in by_service.values() if name in report]
    if not seen:
        return {"status": "down", "error": "no service could report on it"}
    down = [entry for entry in seen if entry.get("status") != "up"]
    return down[0] if down else seen[0]
