"""CSRF protection of every unsafe request the portal takes (POST, PUT, PATCH, DELETE).

A signed double-submit token: the browser holds a random nonce in an HttpOnly, SameSite=Strict
cookie; each page carries HMAC(key, nonce | hash of the session) in its forms (`csrf_token`)
and, for htmx, in the `X-CSRF-Token` header every htmx request sends. A request whose token
does not match is refused before any page code runs, so no form can be forgotten. Binding
the token to the session means a nonce planted in a browser (from a sibling domain, say) is
worth nothing without the victim's session, which no script can read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal.session import SESSION_COOKIE, over_tls

CSRF_COOKIE = "govshare_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# How far into a multipart form its token may be: the forms put it first, ahead of the file.
FIRST_PART_BYTES = 64 * 1024

Refusal = Callable[[Request], Awaitable[Response]]


class CsrfTokens:
    """Makes and checks the tokens under one key (the same on every replica)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def token(self, nonce: str, session: str | None) -> str:
        bound = hashlib.sha256((session or "").encode()).hexdigest()
        return hmac.new(self.key, f"{nonce}|{bound}".encode(), hashlib.sha256).hexdigest()

    def valid(self, nonce: str, session: str | None, given: str) -> bool:
        return hmac.compare_digest(self.token(nonce, session), given)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_nonce(response: Response, request: Request, nonce: str) -> None:
    """Give the browser `nonce` (a new one at sign-in and sign-out)."""
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=over_tls(request), path="/")


class CsrfGuard:
    """ASGI middleware: puts the page's token in `scope["state"]["csrf_token"]`, gives a
    browser without a nonce one, and answers an unsafe request without the right token with
    `refuse` (the app is never called)."""

    def __init__(self, app: ASGIApp, *, tokens: CsrfTokens, refuse: Refusal,
                 max_form_bytes: int) -> None:
        self.app, self.tokens, self.refuse = app, tokens, refuse
        self.max_form_bytes = max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        nonce = cookies.get(CSRF_COOKIE)
        fresh = nonce is None
        nonce = nonce or new_nonce()
        session = cookies.get(SESSION_COOKIE)
        scope.setdefault("state", {})["csrf_token"] = self.tokens.token(nonce, session)
        if scope["method"] in UNSAFE:
            given, receive = await self._given(scope, receive)
            if fresh or not given or not self.tokens.valid(nonce, session, given):
                response = await self.refuse(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, _with_nonce(send, scope, nonce) if fresh else send)

    async def _given(self, scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
        """The token the request carries (header, or the form's field) and a `receive` that
        gives the app the body again."""
        headers = dict(scope["headers"])
        if CSRF_HEADER in headers:
            return headers[CSRF_HEADER].decode("latin-1"), receive
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.startswith(MULTIPART):
            return await _token_of_multipart(content_type, receive)
        if not content_type.startswith(FORM):
            return None, receive
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, receive
            body += message.get("body", b"")
            if len(body) > self.max_form_bytes:
                return None, receive
            more = message.get("more_body", False)
        fields = parse_qs(body.decode("utf-8", "replace"))
        return (fields.get(CSRF_FIELD) or [None])[0], _replay(body, receive)


async def _token_of_multipart(content_type: str,
                              receive: Receive) -> tuple[str | None, Receive]:
    """The token of a multipart form (a file upload), which must be its first field: only
    that much is read here, so the file behind it streams on to the page untouched."""
    boundary = _boundary(content_type)
    if boundary is None:
        return None, receive
    head, more = b"", True
    found: tuple[bool, str | None] = (False, None)
    while more and not found[0] and len(head) <= FIRST_PART_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, receive
        head += message.get("body", b"")
        more = message.get("more_body", False)
        found = _first_field(head, boundary)
    return found[1], _replay(head, receive, more=more)


def _boundary(content_type: str) -> bytes | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _first_field(head: bytes, boundary: bytes) -> tuple[bool, str | None]:
    """(whether the first part has been read far enough to tell, the token it holds)."""
    start = b"--" + boundary + b"\r\n"
    if len(head) < len(start):
        return False, None
    if not head.startswith(start):
        return True, None
    headers_end = head.find(b"\r\n\r\n", len(start))
    if headers_end < 0:
        return False, None
    if f'name="{CSRF_FIELD}"'.encode() not in head[len(start):headers_end]:
        return True, None
    value_end = head.find(b"\r\n--" + boundary, headers_end + 4)
    if value_end < 0:
        return False, None
    return True, head[headers_end + 4:value_end].decode("latin-1")


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for key, value in scope["headers"]:
        if key == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: as if it had none
                continue
    return {name: morsel.value for name, morsel in jar.items()}


def _with_nonce(send: Send, scope: Scope, nonce: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            carrier = Response()
            set_nonce(carrier, Request(scope), nonce)
            message["headers"] = [*message.get("headers", []),
                                  *[(k, v) for k, v in carrier.raw_headers
                                    if k == b"set-cookie"]]
        await send(message)

    return sending


def _replay(body: bytes, then: Receive, *, more: bool = False) -> Receive:
    """The body read already, then the connection's own messages (the rest of a body
    read only in part, or a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": more}

    return receive
