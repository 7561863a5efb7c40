"""A7: every identity change leaves through the outbox as an event other services can read."""

from __future__ import annotations

import httpx

from shared.contracts import DepartmentRegistered
from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import bearer, find_event


async def test_registered_department_is_published_with_its_payload(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    body = factories.department()
    response = await gateway.post("/api/authorization/departments", json=body,
                                  headers=bearer(admin_token))
    assert response.status_code == 201

    event = await find_event(infrastructure.bootstrap_servers,
                              DepartmentRegistered.event_type, body["credit_code"])

    assert event.source.service == "authorization"
    assert DepartmentRegistered.model_validate(event.data).name == body["name"]


async def test_revoked_client_is_published(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure,
    department: dict[str, str],
) -> None:
    created = (await gateway.post("/api/authorization/clients", headers=bearer(admin_token),
                                  json={"name": "税务系统",
                                        "department": department["credit_code"]})).json()
    await gateway.post(f"/api/authorization/clients/{created['client_id']}/revoke",
                       json={"reason": "密钥泄露"}, headers=bearer(admin_token))
    event = await find_event(infrastructure.bootstrap_servers, "identity.client.revoked.v1",
                              created["client_id"])
    assert event.data["reason"] == "密钥泄露"
