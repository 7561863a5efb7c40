"""Bad input anywhere answers with a problem body that names the path the caller used, and
costs the next caller nothing."""

from __future__ import annotations

import asyncio
import base64
import re

import httpx

from tests.integration.conftest import ENTRIES, bearer


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
    assert response.status_code == 414
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/uri-too-long")


async def test_a_nul_character_is_refused_in_a_body_and_in_a_query(
    gateway: httpx.AsyncClient, editor: dict[str, str], admin_token: str
) -> None:
    in_body = await gateway.post("/api/catalog/projects", content='{"name": "a\\u0000"}',
                                 headers={**bearer(editor["token"]),
                                          "content-type": "application/json"})
    assert_problem(in_body, 422, "nul-character", "/api/catalog/projects")
    in_query = await gateway.get("/api/authorization/departments",
                                 params={"name": "南京\x00"}, headers=bearer(admin_token))
    assert_problem(in_query, 422, "nul-character", "/api/authorization/departments")


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
    basic = base64.b64encode(b"a\x00:secret").decode()
    in_header = await gateway.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {basic}"})
    assert in_header.status_code == 401, in_header.text
