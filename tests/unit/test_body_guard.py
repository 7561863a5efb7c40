"""A NUL character (which PostgreSQL's text cannot store) is refused before any handler
reads it, with a problem naming each field that holds one, as a validation problem does."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.web import BodyGuardMiddleware


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"read": (await request.body()).decode()})


def guarded() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/projects", echo, methods=["GET", "POST"])],
                    middleware=[Middleware(BodyGuardMiddleware, max_body_bytes=64 * 1024)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


def named(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/nul-character")
    assert problem["instance"] == "/projects"
    assert {error["code"] for error in problem["errors"]} == {"nul_character"}
    return [error["field"] for error in problem["errors"]]


async def post_json(body: str) -> httpx.Response:
    async with guarded() as http:
        return await http.post("/projects", content=body,
                               headers={"content-type": "application/json"})


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": "户籍\0"}, ["body.name"]),
    ({"name": "户籍", "items": [{"name": "姓名"}, {"code": 1}, {"name": "\0"}]},
     ["body.items.2.name"]),
    ({"name": "\0", "tags": ["ok", "a\0b"], "meta": {"note\0": "x"}},
     ["body.name", "body.tags.1", "body.meta.note\\u0000"]),
])
async def test_a_json_body_names_each_string_holding_one(
    body: dict[str, Any], fields: list[str]
) -> None:
    assert named(await post_json(json.dumps(body))) == fields


async def test_an_escaped_backslash_before_u0000_is_no_nul() -> None:
    response = await post_json(json.dumps({"name": "C:\\u0000"}))
    assert response.status_code == 200, response.text


async def test_a_body_that_is_not_json_but_holds_one_is_named_whole() -> None:
    assert named(await post_json('{"name": "a\\u0000')) == ["body"]


async def test_a_query_names_the_parameter() -> None:
    async with guarded() as http:
        response = await http.get("/projects", params={"q": "人口", "name": "南京\0"})
    assert named(response) == ["query.name"]


async def test_a_form_names_the_field() -> None:
    async with guarded() as http:
        response = await http.post("/projects", data={"client_id": "a\0", "scope": "x"})
    assert named(response) == ["body.client_id"]


async def test_a_body_full_of_them_names_twenty() -> None:
    assert len(named(await post_json(json.dumps(["\0"] * 1000)))) == 20
