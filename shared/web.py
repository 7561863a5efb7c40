"""What every HTTP app of a node shares: request telemetry, body guards, problems, health."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import request_id_var
from shared.metrics import http_request_duration, http_requests_in_flight
from shared.nul import fields_in_form, fields_in_json
from shared.problems import caller_path, problem_body, unexpected_problem
from shared.telemetry import context_from_headers, tracer

REQUEST_ID_HEADER = "x-request-id"
access_log = logging.getLogger("govshare.access")


RouteLabel = Callable[[Scope], str]
# FastAPI's own telemetry would add a second server span (and OTel metrics) to the calls it
# routes; RequestTelemetry covers every call, those answered ahead of FastAPI too.
FASTAPI_TELEMETRY_OFF = TelemetryConfig(tracing=False, metrics=False, logs=False)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTelemetry:
    """What every call gets: the caller's X-Request-ID (or a new one) for the logs and echoed
    back; a server span continuing the caller's trace; the latency histogram; and one access
    log line. `route` names the call in the metrics: a fixed label, a function of the call,
    or (by default) the path template the framework's router matched."""

    def __init__(self, app: ASGIApp, *, route: str | RouteLabel | None = None) -> None:
        self.app = app
        self.route: RouteLabel = (
            (lambda _scope: route) if isinstance(route, str) else route or matched_route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, REQUEST_ID_HEADER) or uuid.uuid4().hex
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        request_token = request_id_var.set(request_id)
        span = tracer.start_span(method, context=context_from_headers(scope["headers"]),
                                 kind=SpanKind.SERVER, attributes={
                                     "http.request.method": method, "url.path": scope["path"],
                                     "govshare.request_id": request_id})
        span_token = context.attach(trace.set_span_in_context(span))
        http_requests_in_flight.inc()
        began = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != REQUEST_ID_HEADER.encode()]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            span.record_exception(error)
            raise
        finally:
            elapsed = time.perf_counter() - began
            http_requests_in_flight.dec()
            route = self.route(scope)
            http_request_duration.labels(method, route, str(status)).observe(elapsed)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"answered {status}"))
            access_log.info("%s %s %s", scope["method"], scope["path"], status, extra={
                "status": status, "duration_ms": round(1000 * elapsed, 2)})
            span.end()
            context.detach(span_token)
            request_id_var.reset(request_token)


def matched_route(scope: Scope) -> str:
    """The path template of the route the framework matched (bounded, unlike paths)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class AnswerWatch:
    """Passes an app's messages on to `send`, noting whether its answer has begun (after
    which no other answer can be given)."""

    def __init__(self, send: Send) -> None:
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class UnexpectedErrors:
    """Answer an exception no handler expected with a problem body (500, or 503 while the
    database is away) instead of letting it reach the server: the server would answer in
    plain text and close the connection, which a proxy keeping connections alive would find
    half-closed on the next call, someone else's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer = AnswerWatch(send)
        try:
            await self.app(scope, receive, answer)
        except Exception as error:
            if answer.started:
                raise  # the status line is out: only cutting the answer short is left
            body, headers = unexpected_problem(error, caller_path(scope),
                                               request_id_var.get())
            await send_problem(send, body, headers)


class RouteAhead:
    """Send the calls `matches` picks to `handler`, ahead of the framework's own layers
    (routing, dependency solving, exception and telemetry middleware); everything else,
    lifespan included, goes to `app`. For the few routes that carry most of the traffic."""

    def __init__(self, app: ASGIApp, *, matches: Callable[[Scope], bool],
                 handler: ASGIApp) -> None:
        self.app, self.matches, self.handler = app, matches, handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.matches(scope):
            await self.handler(scope, receive, send)
        else:
            await self.app(scope, receive, send)


BULK_MEDIA_TYPES = ("text/csv", "application/x-ndjson", "application/jsonl")
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class BodyGuardMiddleware:
    """Refuse bodies over the size limit (413) and JSON bodies that are not UTF-8 (400).

    Bodies are checked as they stream, so a large upload is never held whole here; only
    JSON bodies, which are bounded by `max_body_bytes`, are decoded. Bulk data (CSV, JSON
    Lines) streams under the larger `max_upload_bytes`; its reader checks each line.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int,
                 max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul_fields = _nul_fields_of_target(scope)
        if nul_fields:
            await _refuse_nul(send, scope, nul_fields)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type = (_header(scope, "content-type") or "").lower()
        bulk = content_type.startswith(BULK_MEDIA_TYPES)
        limit = self.max_upload_bytes if bulk else self.max_body_bytes
        declared = _header(scope, "content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await send_problem_for(send, 413, "payload-too-large", "Request body too large",
                                   f"The body has {declared} bytes; the limit is {limit}.",
                                   caller_path(scope))
            return
        if "json" in content_type and not bulk:
            await self._check_json(scope, receive, send)
        elif content_type.startswith(FORM_MEDIA_TYPE):
            await self._check_form(scope, receive, send)
        else:
            await self._stream(scope, receive, send, limit)

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        answer = AnswerWatch(send)
        try:
            await self.app(scope, _counting(receive, limit), answer)
        except _BodyTooLarge:
            if not answer.started:
                await send_problem_for(send, 413, "payload-too-large", "Request body too large",
                                       f"The body exceeds the limit of {limit} bytes.",
                                       caller_path(scope))

    async def _check_form(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A form (the token endpoint's): bounded like JSON, and no NUL in any field."""
        body = await self._read_bounded(scope, receive, send)
        if body is None:
            return
        if _NUL_ENCODED in body.upper() or b"\0" in body:
            await _refuse_nul(send, scope, fields_in_form(body.decode("utf-8", "replace"), "body"))
            return
        await self.app(scope, _replay(body), send)

    async def _read_bounded(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused as too large (or the caller left)."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_problem_for(send, 413, "payload-too-large", "Request body too large",
                                       f"The body exceeds the limit of {self.max_body_bytes} "
                                       "bytes.", caller_path(scope))
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _check_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._read_bounded(scope, receive, send)
        if body is None:
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            await send_problem_for(send, 400, "malformed-body", "Malformed request body",
                                   f"The body is not valid UTF-8 (byte {error.start}).",
                                   caller_path(scope))
            return
        if _NUL_ESCAPED.search(text):  # cheap on every body; parsed only when it finds one
            await _refuse_nul(send, scope, fields_in_json(text))
            return
        await self.app(scope, _replay(body), send)


# PostgreSQL's text cannot hold U+0000: refused here, for every field at once, rather than
# failing in the database. In a query string it arrives as %00; in JSON text as \u0000
# (unless that backslash is itself escaped).
_NUL_ENCODED = b"%00"
_NUL_ESCAPED = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _nul_fields_of_target(scope: Scope) -> list[str]:
    """Where the path and the query string hold a NUL: none, mostly, found by a scan of the
    bytes; the query is parsed (as the framework parses it) only to name its fields."""
    query = scope.get("query_string", b"")
    fields = ["path"] if "\0" in scope["path"] else []
    if _NUL_ENCODED in query.upper():
        fields += fields_in_form(query.decode("latin-1"), "query")
    return fields


async def _refuse_nul(send: Send, scope: Scope, fields: list[str]) -> None:
    """Refuse the call, naming each field that holds a NUL as a validation problem does."""
    message = "Text may not contain the NUL character (U+0000)."
    await send_problem(send, problem_body(
        422, "nul-character", "The request holds a NUL character",
        f"{message[:-1]}: {', '.join(fields)}.", caller_path(scope),
        errors=[{"field": field, "message": message, "code": "nul_character"}
                for field in fields]))


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _BodyTooLarge()
        return message

    return counted


class _BodyTooLarge(Exception):
    pass


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


async def send_problem_for(
    send: Send, status: int, slug: str, title: str, detail: str, path: str
) -> None:
    await send_problem(send, problem_body(status, slug, title, detail, path))


async def send_problem(
    send: Send, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Answer a raw ASGI call with a problem document (for code below the router)."""
    encoded = json.dumps(body, ensure_ascii=False).encode()
    raw_headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(encoded)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": body["status"],
                "headers": raw_headers})
    await send({"type": "http.response.body", "body": encoded})


HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


async def run_health_checks(checks: dict[str, HealthCheck]) -> dict[str, Any]:
    """Run each named check; a check that raises reports itself as down."""
    report: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            report[name] = {"status": "up", **(await check())}
        except Exception as error:  # a health report must describe failures, not raise them
            report[name] = {"status": "down", "error": str(error) or type(error).__name__}
    report["status"] = "up" if all(v["status"] == "up" for v in report.values()) else "down"
    return report
