"""Bad input anywhere answers with a problem body that names the path the caller used, and
costs the next caller nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx

from tests import factories
from tests.conftest import Infrastructure
from tests.integration.conftest import ENTRIES, Party, bearer
from tests.integration.portal_oversight import auditor_token


def assert_problem(response: httpx.Response, status: int, slug: str, instance: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(f"/{slug}")
    assert response.json()["instance"] == instance


async def test_a_services_problem_names_the_gateway_path_the_caller_used(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.get(f"{ENTRIES}/999999/000001", headers=bearer(editor["token"]))
    assert_problem(response, 404, "entry-not-found", f"{ENTRIES}/999999/000001")


async def test_a_body_that_is_not_json_is_415_not_a_validation_error(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.post(ENTRIES, content="name=户籍人口",
                                  headers={**bearer(editor["token"]),
                                           "content-type": "text/plain"})
    assert_problem(response, 415, "unsupported-media-type", ENTRIES)
    assert "application/json" in response.json()["detail"]


async def test_an_over_long_query_string_is_a_problem_not_plain_text(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    response = await gateway.get("/api/catalog/search", params={"q": "户籍" * 1200},
                                 headers=bearer(editor["token"]))
    assert_problem(response, 414, "uri-too-long", "/api/catalog/search")


async def test_a_nul_character_is_refused_in_a_body_and_in_a_query(
    gateway: httpx.AsyncClient, editor: dict[str, str], admin_token: str
) -> None:
    in_body = await gateway.post("/api/catalog/projects", content='{"name": "a\\u0000"}',
                                 headers={**bearer(editor["token"]),
                                          "content-type": "application/json"})
    assert_problem(in_body, 422, "nul-character", "/api/catalog/projects")
    assert nul_fields(in_body) == ["body.name"]
    in_query = await gateway.get("/api/authorization/departments",
                                 params={"name": "南京\x00"}, headers=bearer(admin_token))
    assert_problem(in_query, 422, "nul-character", "/api/authorization/departments")
    assert nul_fields(in_query) == ["query.name"]


def nul_fields(response: httpx.Response) -> list[str]:
    """The fields a NUL refusal names, each as a validation problem names one."""
    errors = response.json()["errors"]
    assert {error["code"] for error in errors} == {"nul_character"}, errors
    return [error["field"] for error in errors]


async def test_a_nul_deep_in_a_body_is_named_by_its_path(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    entry = factories.population_entry()
    entry["items"][1]["name"] = "出生\x00日期"
    response = await gateway.post(ENTRIES, json=entry, headers=bearer(editor["token"]))
    assert_problem(response, 422, "nul-character", ENTRIES)
    assert nul_fields(response) == ["body.items.1.name"]


async def test_numbers_beyond_what_the_database_holds_are_refused_as_input(
    gateway: httpx.AsyncClient, editor: dict[str, str], admin_token: str
) -> None:
    offset = await gateway.get("/api/catalog/triggers", params={"offset": 2**63},
                               headers=bearer(editor["token"]))
    assert_problem(offset, 422, "validation-error", "/api/catalog/triggers")
    year_zero = await gateway.get("/api/evaluation/scores", params={"period": "0000"},
                                  headers=bearer(admin_token))
    assert_problem(year_zero, 422, "validation-error", "/api/evaluation/scores")


def allowed(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_a_method_a_path_is_not_served_with_names_every_method_it_is(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    calls = {("PUT", "/api/authorization/departments/91320000134755327X"): {"GET", "PATCH"},
             ("PATCH", "/api/exchange/subscriptions/1"): {"GET", "DELETE"},
             ("PATCH", f"{ENTRIES}/999999/000001"): {"GET", "PUT"}}
    for (method, path), methods in calls.items():
        response = await gateway.request(method, path, headers=bearer(admin_token))
        assert_problem(response, 405, "method-not-allowed", path)
        assert methods <= allowed(response), (path, response.headers["allow"])


async def test_every_405_allows_exactly_the_methods_the_document_gives_its_path(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    """No HEAD or OPTIONS unless served, no method left out, through the gateway."""
    document = (await gateway.get("/openapi.json")).json()
    for template, operations in document["paths"].items():
        documented = {method.upper() for method in operations
                      if method in ("get", "head", "post", "put", "patch", "delete", "options")}
        method = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in documented)
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = await gateway.request(method, path, headers=bearer(admin_token))
        assert response.status_code == 405, (method, path, response.text)
        assert allowed(response) == documented, (method, path, response.headers["allow"])
        await asyncio.sleep(0.03)  # under the test node's rate limit of 50 calls a second


async def test_an_answer_through_the_gateway_has_one_date_and_one_server_header(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """The gateway's server sets both; the service's are not passed on beside them."""
    answers = [await gateway.get(f"{ENTRIES}/999999/000001", headers=bearer(editor["token"])),
               await gateway.post(ENTRIES, json={}, headers=bearer(editor["token"])),
               await gateway.get("/health")]
    for response in answers:
        assert (len(response.headers.get_list("date")),
                len(response.headers.get_list("server"))) == (1, 1), response.headers


async def test_a_number_is_no_moment_and_no_yes_or_no(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    as_seconds = await gateway.get("/api/exchange/audit", params={"until": "0.5"},
                                   headers=bearer(admin_token))
    assert_problem(as_seconds, 422, "validation-error", "/api/exchange/audit")
    assert as_seconds.json()["errors"][0]["field"] == "query.until"
    as_number = await gateway.patch("/api/authorization/users/nobody-at-all",
                                    json={"disabled": 0}, headers=bearer(admin_token))
    assert_problem(as_number, 422, "validation-error", "/api/authorization/users/nobody-at-all")
    assert as_number.json()["errors"][0]["field"] == "body.disabled"


async def test_a_nul_character_in_a_form_or_basic_credentials_is_refused_not_a_failure(
    gateway: httpx.AsyncClient
) -> None:
    in_form = await gateway.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "b"})
    assert_problem(in_form, 422, "nul-character", "/oauth/token")
    assert nul_fields(in_form) == ["body.client_id"]
    basic = base64.b64encode(b"a\x00:secret").decode()
    in_header = await gateway.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {basic}"})
    assert in_header.status_code == 401, in_header.text


SERVICES = ("authorization", "catalog", "exchange", "evaluation")


async def test_a_services_own_document_is_not_routed_only_the_nodes_is(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    """The service's document names its paths as the service serves them and refuses as
    the framework would; the node's, at /openapi.json, as a caller reaches and is refused."""
    for service in SERVICES:
        for page in ("openapi.json", "docs", "redoc", "docs/oauth2-redirect"):
            path = f"/api/{service}/{page}"
            assert_problem(await gateway.get(path, headers=bearer(admin_token)), 404,
                           "not-found", path)
    assert (await gateway.get("/openapi.json")).status_code == 200


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, by_method in document["paths"].items():
        for method, operation in by_method.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


async def test_every_refusal_the_node_documents_is_a_problem_document(
    gateway: httpx.AsyncClient
) -> None:
    document = (await gateway.get("/openapi.json")).json()
    assert "HTTPValidationError" not in json.dumps(document)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, method, operation in operations(document):
        for status in ("414", "422"):  # any call may be refused so, by the server or a rule
            assert operation["responses"][status]["content"] == problem, (method, path, status)
    open_catalog = document["paths"]["/open-data/catalog.jsonld"]["get"]["responses"]["200"]
    assert list(open_catalog["content"]) == ["application/ld+json"]


async def test_an_offset_past_a_bigint_is_refused_by_every_list_that_takes_one(
    gateway: httpx.AsyncClient, infrastructure: Infrastructure, admin_token: str,
    provider: Party
) -> None:
    """Each operation the node documents with an `offset`, asked by whoever may ask it."""
    document = (await gateway.get("/openapi.json")).json()
    askers = [admin_token, provider["token"], await auditor_token(infrastructure, gateway)]
    listed = [(method, path, {} if "requestBody" in operation else None)
              for path, method, operation in operations(document)
              if any(parameter["name"] == "offset" for parameter in operation.get(
                  "parameters", []))]
    assert len(listed) > 20  # the document was read
    not_refused = []
    for method, template, body in listed:
        path = re.sub(r"\{[^}]+\}", "1", template)
        for token in askers:
            response = await gateway.request(method, path, params={"offset": 2**63},
                                             json=body, headers=bearer(token))
            await asyncio.sleep(0.03)  # under the test node's rate limit
            if response.status_code not in (401, 403):
                break
        if response.status_code != 422 or "query.offset" not in [
                error["field"] for error in response.json().get("errors", [])]:
            not_refused.append((method, path, response.status_code, response.text[:200]))
    assert not_refused == []
