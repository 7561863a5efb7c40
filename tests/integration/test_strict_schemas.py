"""The OpenAPI documents say what the servers refuse: a year outside 2000–2099, text that is
whitespace alone; and the servers refuse it, through the gateway, with a problem naming the
field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import factories
from tests.conftest import RunningNode
from tests.integration.conftest import ENTRIES, bearer

# Secrets may be any characters at all, spaces alone included.
SECRETS = frozenset({"password", "invitation", "client_secret"})
SERVICES = ["authorization", "catalog", "exchange", "evaluation"]


async def service_document(node: RunningNode, service: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=node.service_urls[service]) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def year_parameters(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if "year" in parameter["name"]:
                    yield f"{method.upper()} {path} {parameter['name']}", parameter["schema"]


def strings(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The string schemas a property's schema allows (through unions, lists and maps)."""
    if schema.get("type") == "string":
        yield schema
    for union in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(union, []):
            yield from strings(branch)
    for inner in ("items", "additionalProperties"):
        if isinstance(schema.get(inner), dict):
            yield from strings(schema[inner])


def unguarded_texts(document: dict[str, Any]) -> list[str]:
    """Required text (a minimum length) whose document lets whitespace alone through."""
    found = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for field, property_schema in schema.get("properties", {}).items():
            if field in SECRETS:
                continue
            found += [f"{name}.{field}" for text in strings(property_schema)
                      if text.get("minLength", 0) >= 1
                      and not ({"pattern", "format", "enum", "const"} & text.keys())]
    return found


def numbers_taking_empty_text(document: dict[str, Any]) -> list[str]:
    """Number fields (a decimal, say) that the document lets be given as any text, "" too."""
    found = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for field, property_schema in schema.get("properties", {}).items():
            branches = property_schema.get("anyOf", [])
            if any(branch.get("type") == "number" for branch in branches) and any(
                    branch.get("type") == "string" and "pattern" not in branch
                    for branch in branches):
                found.append(f"{name}.{field}")
    return found


@pytest.mark.parametrize("service", SERVICES)
async def test_a_services_document_is_as_strict_as_the_service(
    node: RunningNode, service: str
) -> None:
    document = service_document(node, service)
    document = await document
    years = dict(year_parameters(document))
    assert {where: (schema.get("minimum"), schema.get("maximum"))
            for where, schema in years.items()} == dict.fromkeys(years, (2000, 2099))
    assert unguarded_texts(document) == []
    assert numbers_taking_empty_text(document) == []


async def test_the_combined_document_says_the_rules(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    calendar = document["paths"]["/api/catalog/calendar/{year}"]["get"]["parameters"]
    year = next(parameter["schema"] for parameter in calendar if parameter["name"] == "year")
    assert (year["minimum"], year["maximum"]) == (2000, 2099)
    schemas = document["components"]["schemas"]
    assert schemas["DepartmentCreate"]["properties"]["name"]["pattern"] == r"\S"
    assert schemas["EntrySpec"]["properties"]["abstract"]["pattern"] == r"\S"


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]], response.text


async def test_a_year_outside_2000_to_2099_is_refused(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    for year in (1999, 2100):
        assert_refused(await gateway.get(f"/api/catalog/calendar/{year}",
                                         headers=bearer(admin_token)), "path.year")
    loaded = await gateway.put("/api/catalog/calendar/2100", headers=bearer(admin_token),
                               json={"holidays": [], "adjusted_workdays": []})
    assert_refused(loaded, "path.year")
    assert (await gateway.get("/api/catalog/calendar/2000",
                              headers=bearer(admin_token))).status_code == 200


async def test_whitespace_alone_is_not_text(
    gateway: httpx.AsyncClient, admin_token: str, editor: dict[str, str]
) -> None:
    department = {**factories.department(), "name": " \u3000\t"}
    assert_refused(await gateway.post("/api/authorization/departments", json=department,
                                      headers=bearer(admin_token)), "body.name")
    entry = {**factories.population_entry(), "abstract": "   "}
    assert_refused(await gateway.post(ENTRIES, json=entry, headers=bearer(editor["token"])),
                   "body.abstract")
