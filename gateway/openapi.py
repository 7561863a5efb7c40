"""One OpenAPI document for the whole node: the gateway's own paths plus every service's,
each service's paths under /api/<service>."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx

from shared.problems import document_problems

# Every call routed to a service needs a token: the gateway answers one without it 401.
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
          "description": "A token from `/oauth/token` (department systems) or `/auth/login` "
                         "(staff), sent as `Authorization: Bearer <token>`."}


async def combined_openapi(
    own: dict[str, Any], services: dict[str, str], client: httpx.AsyncClient
) -> dict[str, Any]:
    """Merge the services' documents into the gateway's; an unreachable service is noted."""
    document = copy.deepcopy(own)
    documents = await asyncio.gather(
        *(_fetch(client, url) for url in services.values()), return_exceptions=True
    )
    unavailable = []
    for name, service_doc in zip(services, documents, strict=True):
        if isinstance(service_doc, BaseException):
            unavailable.append(name)
            continue
        _merge(document, name, service_doc)
    if unavailable:
        document["info"]["x-unavailable-services"] = unavailable
    _require_tokens(document)
    return document_problems(document)


def _require_tokens(document: dict[str, Any]) -> None:
    """Say which operations need a token (every service's; the gateway's own are open), so
    a client knows to send one, and a contract run checks each is refused without it."""
    document.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER
    for path, operations in document.get("paths", {}).items():
        if path.startswith("/api/"):
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["security"] = [{"bearer": []}]


async def _fetch(client: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    response = await client.get(f"{base_url.rstrip('/')}/openapi.json", timeout=5.0)
    response.raise_for_status()
    return response.json()


def _merge(document: dict[str, Any], service: str, service_doc: dict[str, Any]) -> None:
    paths = document.setdefault("paths", {})
    for path, operations in service_doc.get("paths", {}).items():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation["tags"] = [f"{service}: {tag}" for tag in operation.get("tags", [])]
                operation["operationId"] = f"{service}_{operation.get('operationId', path)}"
        paths[f"/api/{service}{path}"] = operations
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(service_doc.get("components", {}).get("schemas", {}))
    document.setdefault("tags", []).append(
        {"name": service, "description": service_doc.get("info", {}).get("description", "")}
    )
