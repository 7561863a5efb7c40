"""G1: health, combined OpenAPI and published keys of a running node."""

from __future__ import annotations

import httpx

from tests.conftest import RunningNode


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


async def test_liveness_and_readiness_answer_on_the_gateway_and_every_service(
    gateway: httpx.AsyncClient, node: RunningNode
) -> None:
    for base in (node.gateway_url, *node.service_urls.values()):
        live = await gateway.get(f"{base}/health/live")
        assert live.status_code == 200 and live.json() == {"status": "up"}, base
        ready = await gateway.get(f"{base}/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "up", (base, ready.text)
    for url in node.service_urls.values():
        metrics = (await gateway.get(f"{url}/metrics")).text
        for dependency in ("database", "broker"):
            assert f'govshare_dependency_up{{dependency="{dependency}"}} 1.0' in metrics


async def test_combined_openapi_documents_every_service(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    assert "/oauth/token" in document["paths"]
    assert "/api/authorization/departments" in document["paths"]
    assert "DepartmentCreate" in document["components"]["schemas"]
    # A service's operation needs a token; the gateway's own (getting one) do not.
    assert document["paths"]["/api/authorization/departments"]["post"]["security"] == [
        {"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/oauth/token"]["post"]
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
