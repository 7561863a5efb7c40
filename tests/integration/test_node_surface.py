"""G1: health, combined OpenAPI and published keys of a running node."""

from __future__ import annotations

import httpx


async def test_health_reports_each_service_the_database_and_the_broker(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/health")
    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "up"
    assert report["services"]["authorization"]["status"] == "up"
    assert report["database"]["status"] == "up"
    assert report["broker"]["status"] == "up"


async def test_combined_openapi_documents_every_service(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    assert "/oauth/token" in document["paths"]
    assert "/api/authorization/departments" in document["paths"]
    assert "DepartmentCreate" in document["components"]["schemas"]
    docs = await gateway.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


async def test_jwks_publishes_the_signing_key(gateway: httpx.AsyncClient,
                                              admin_token: str) -> None:
    keys = (await gateway.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and all(k["kty"] == "EC" and "d" not in k for k in keys)


async def test_unknown_service_is_404_problem(gateway: httpx.AsyncClient,
                                              admin_token: str) -> None:
    response = await gateway.get("/api/nowhere/x",
                                 headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
