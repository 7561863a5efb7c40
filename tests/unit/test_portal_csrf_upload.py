"""A file upload (multipart form) passes the portal's CSRF guard only with the page's token
as its first field, and the file behind it reaches the page intact (W4's workbook form)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.portal.csrf import CSRF_COOKIE, CSRF_FIELD, CsrfGuard, CsrfTokens

TOKENS = CsrfTokens(b"k" * 32)
NONCE = "nonce-of-this-browser"
WORKBOOK = bytes(range(256)) * 2048  # 512 KiB, every byte value


async def received(request: Request) -> Response:
    form = await request.form()
    upload = form["workbook"]
    assert not isinstance(upload, str)
    return JSONResponse({"sha256": hashlib.sha256(await upload.read()).hexdigest()})


async def refused(request: Request) -> Response:
    return Response("refused", status_code=403)


def browser() -> httpx.AsyncClient:
    app = CsrfGuard(Starlette(routes=[Route("/upload", received, methods=["POST"])]),
                    tokens=TOKENS, refuse=refused, max_form_bytes=1024)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal",
                             cookies={CSRF_COOKIE: NONCE})


def multipart(fields: list[tuple[str, str | None]]) -> tuple[bytes, str]:
    """A form body with the fields in this order (None: the workbook file)."""
    boundary = "----govshareBoundary7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields:
        if value is None:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         'filename="目录.xlsx"\r\nContent-Type: application/octet-stream'
                         "\r\n\r\n".encode() + WORKBOOK + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


async def post(fields: list[tuple[str, str | None]]) -> httpx.Response:
    body, boundary = multipart(fields)
    async with browser() as client:
        return await client.post("/upload", content=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})


async def test_the_token_as_first_field_lets_the_file_through_intact() -> None:
    answer = await post([(CSRF_FIELD, TOKENS.token(NONCE, None)), ("workbook", None)])
    assert answer.status_code == 200, answer.text
    assert answer.json()["sha256"] == hashlib.sha256(WORKBOOK).hexdigest()


@pytest.mark.parametrize("fields", [
    [("workbook", None)],
    [("workbook", None), (CSRF_FIELD, TOKENS.token(NONCE, None))],
    [(CSRF_FIELD, TOKENS.token("another browser's nonce", None)), ("workbook", None)],
], ids=["no token", "token after the file", "token of another nonce"])
async def test_an_upload_without_the_pages_token_first_is_refused(
        fields: list[tuple[str, str | None]]) -> None:
    assert (await post(fields)).status_code == 403
