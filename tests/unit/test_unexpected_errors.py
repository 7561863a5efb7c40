"""An error no handler expected still answers with a problem body; the database away is a
503 the caller may retry."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.web import RequestTelemetry, UnexpectedErrors


async def broken(request: Request) -> JSONResponse:
    raise KeyError("a bug")


async def database_away(request: Request) -> JSONResponse:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))


def guarded(*routes: Route) -> Starlette:
    """An app with the middleware where the services have it: inside the framework's own
    last-resort handler, which would answer in plain text."""
    return Starlette(routes=list(routes), middleware=[Middleware(UnexpectedErrors)])


def client() -> httpx.AsyncClient:
    app = guarded(Route("/broken", broken), Route("/away", database_away))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


def served() -> httpx.AsyncClient:
    """As a node's process serves: the request id given to every call outside it all."""
    app = RequestTelemetry(guarded(Route("/broken", broken)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


async def test_a_bug_is_a_500_problem_body_with_the_path() -> None:
    async with client() as http:
        response = await http.get("/broken", headers={"x-forwarded-prefix": "/api/catalog"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal-error")
    assert response.json()["instance"] == "/api/catalog/broken"


async def test_a_500_names_the_request_id_its_log_lines_carry() -> None:
    async with served() as http:
        given = await http.get("/broken", headers={"x-request-id": "4f1c2a9e-caller"})
        made = await http.get("/broken")
    assert given.status_code == 500
    assert given.json()["request_id"] == given.headers["x-request-id"] == "4f1c2a9e-caller"
    assert made.json()["request_id"] == made.headers["x-request-id"]
    assert len(made.json()["request_id"]) == 32  # one the node made: a uuid4's hex


async def test_the_database_away_is_a_503_to_retry() -> None:
    async with client() as http:
        response = await http.get("/away")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"].endswith("/service-unavailable")


@pytest.mark.parametrize("status", [200, 404])
async def test_answers_pass_through_untouched(status: int) -> None:
    async def answer(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=status)

    app = guarded(Route("/", answer))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://node") as http:
        response = await http.get("/")
    assert (response.status_code, response.json()) == (status, {"ok": True})
