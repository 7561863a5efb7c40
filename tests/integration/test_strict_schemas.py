"""The OpenAPI documents say what the servers refuse: a year outside 2000–2099, text that is
whitespace alone; and the servers refuse it, through the gateway, with a problem naming the
field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts.values import DAY_PATTERN, MOMENT_PATTERN
from tests import factories
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import ENTRIES, Party, application, bearer
from tests.integration.portal_oversight import auditor_token

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
    occurred_on = schemas["TriggerCreate"]["properties"]["occurred_on"]
    assert (occurred_on["format"], occurred_on["pattern"]) == ("date", DAY_PATTERN)
    assert schemas["EntrySnapshot"]["properties"]["version"]["maximum"] == 2**31 - 1
    assert schemas["ScoringMethod"]["properties"]["zombie_max_uses"]["maximum"] == 2**31 - 1
    as_number = schemas["SystemFiling"]["properties"]["construction_funding"]["anyOf"][0]
    assert (as_number["type"], as_number["multipleOf"]) == ("number", 0.01)


def days_and_moments(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every date and date-time the document takes as input: in a parameter or a body."""
    schemas = document["components"]["schemas"]

    def within(where: str, schema: dict[str, Any], seen: frozenset[str]) -> Iterator[
            tuple[str, dict[str, Any]]]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                yield from within(where, schemas[name], seen | {name})
            return
        if schema.get("format") in ("date", "date-time"):
            yield where, schema
        for union in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(union, []):
                yield from within(where, branch, seen)
        if isinstance(schema.get("items"), dict):
            yield from within(f"{where}[]", schema["items"], seen)
        for field, inner in schema.get("properties", {}).items():
            yield from within(f"{where}.{field}", inner, seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                yield from within(f"{method} {path} {parameter['name']}", parameter["schema"],
                                  frozenset())
            for body in operation.get("requestBody", {}).get("content", {}).values():
                yield from within(f"{method} {path} body", body["schema"], frozenset())


async def test_every_day_and_moment_taken_is_bounded_to_the_two_centuries(
    gateway: httpx.AsyncClient
) -> None:
    """Past 9999 or before year 1 a date cannot be counted on from or converted to UTC."""
    document = (await gateway.get("/openapi.json")).json()
    taken = dict(days_and_moments(document))
    assert len(taken) > 10  # the document was read
    unbounded = {where: schema for where, schema in taken.items() if schema.get("pattern") !=
                 {"date": DAY_PATTERN, "date-time": MOMENT_PATTERN}[schema["format"]]}
    assert unbounded == {}


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


async def test_a_day_past_the_calendar_is_refused_naming_the_field(
    gateway: httpx.AsyncClient, admin_token: str, editor: dict[str, str], provider: Party
) -> None:
    """9999-12-31 was taken, then counting 15 working days after it failed (a 500)."""
    trigger = {"department": editor["credit_code"], "kind": "law_revised",
               "description": "《户口登记条例》修订", "occurred_on": "9999-12-31"}
    assert_refused(await gateway.post("/api/catalog/triggers", json=trigger,
                                      headers=bearer(admin_token)), "body.occurred_on")
    for as_of in ("0001-01-01", "0"):  # "0" was read as 1970-01-01
        assert_refused(await gateway.get("/api/catalog/triggers", params={
            "overdue": "true", "as_of": as_of}, headers=bearer(admin_token)), "query.as_of")
    assert_refused(await gateway.post("/api/authorization/requests", headers=bearer(
        provider["token"]), json=application("101001/000001", valid_until="9999-12-31")),
        "body.valid_until")
    agreement = {"consumer": editor["credit_code"], "entry_code": "101001/000001",
                 "reference": "宁数保〔2026〕17号", "document_sha256": "ab" * 32,
                 "signed_on": "2026-01-05", "valid_until": "9999-12-31"}
    assert_refused(await gateway.post("/api/authorization/agreements", json=agreement,
                                      headers=bearer(provider["token"])), "body.valid_until")
    last_day = await gateway.post("/api/catalog/triggers", headers=bearer(admin_token),
                                  json={**trigger, "occurred_on": "2099-12-31"})
    assert last_day.status_code == 201, last_day.text
    assert last_day.json()["due_on"].startswith("2100-01-")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_a_moment_utc_cannot_hold_is_refused_naming_the_field(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, admin_token: str, moment: str
) -> None:
    """Each was taken, then failed (a 500) when the driver converted it to UTC."""
    auditor = await auditor_token(infrastructure, gateway)
    for path in ("/api/exchange/audit", "/api/authorization/security-events"):
        for bound in ("since", "until"):
            assert_refused(await gateway.get(path, params={bound: moment},
                                             headers=bearer(auditor)), f"query.{bound}")


async def test_integers_the_database_cannot_hold_are_refused_naming_the_field(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    method = (await gateway.get("/api/evaluation/scoring-method/defaults/municipal",
                                headers=bearer(admin_token))).json()
    assert_refused(await gateway.put("/api/evaluation/scoring-method", headers=bearer(
        admin_token), json={**method, "zombie_max_uses": 2**63}), "body.zombie_max_uses")
    entry = {**factories.population_entry(), "code": "101001/000001",
             "provider": "11320100MB1234567X", "provider_name": "南京市公安局",
             "status": "published", "version": 2**31, "node": "320100-internal"}
    batch = {"entries": [{"entry": entry, "provider_tier": "municipal",
                          "provider_region": "320100", "classified": False,
                          "path": ["320100-internal"]}]}
    refused = await gateway.post("/api/catalog/federation/entries", json=batch,
                                 headers=bearer(admin_token))
    assert_refused(refused, "body.entries.0.entry.version")
    assert len(refused.json()["errors"]) == 1, refused.text  # the rest of the batch is fine
