"""RFC 9457 problem details: one exception type, one place that renders it.

    ProblemError                 -- anything a handler raises to answer 4xx/5xx
      ├── NotFound               -- 404
      ├── Conflict               -- 409
      ├── Unprocessable          -- 422, names the field and the rule
      ├── Unauthorized           -- 401, with WWW-Authenticate
      └── Forbidden              -- 403

Each service subclasses these for its domain errors; handlers never build error JSON.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://govshare.example/problems/"
# The gateway names the prefix it routed a call under (`/api/catalog`), so that `instance`
# is the path the caller used, not the service's own.
FORWARDED_PREFIX_HEADER = "x-forwarded-prefix"
_FORWARDED_PREFIX = FORWARDED_PREFIX_HEADER.encode()
# The methods an Allow header may name, in the order it names them.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# How long a caller should wait before retrying while the database is away (seconds).
RETRY_AFTER_UNAVAILABLE = "5"


class ProblemError(Exception):
    """An error that is answered as an RFC 9457 problem document."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def to_body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            self.status, self.slug, self.title, self.detail, instance, **self.extensions
        )


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class IllegalTransition(Conflict):
    """A change the aggregate's state machine does not allow now; names the current state."""

    slug, title = "illegal-transition", "Not allowed in the current state"

    def __init__(self, detail: str, *, current_state: str) -> None:
        super().__init__(detail, current_state=current_state)


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "The request breaks a rule"


class TooManyRequests(ProblemError):
    status, slug, title = 429, "rate-limited", "Too many requests"


def problem_body(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """Build a problem document (type, title, status, detail, instance + extensions)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document. Extensions name what went wrong for a "
                   "program: `field`, `rule`, `article`, `reason`, `errors` (one per invalid "
                   "input: `field`, `message`, `code`), `current_state`, `request_id`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "URI naming the kind of problem."},
        "title": {"type": "string", "description": "Short summary of the kind."},
        "status": {"type": "integer", "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong with this call."},
        "instance": {"type": "string", "description": "The path the caller used."},
    },
    "additionalProperties": True,
}


# The schemas FastAPI documents its own 422 with; the problem handlers answer instead.
FRAMEWORK_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

# What a refusal or failure means, by status, in the document every operation shares.
REFUSALS = {
    "400": "The request cannot be read (malformed JSON, text that is not UTF-8).",
    "401": "No valid token (`WWW-Authenticate` says how to get one).",
    "403": "The token's roles or department do not allow this.",
    "404": "No such resource, or not one the caller may see.",
    "409": "Conflicts with the resource's current state (the problem names it).",
    "413": "The body is larger than this node accepts.",
    "414": "The path and query string are longer than this node reads (16 KiB).",
    "415": "The body is not of a media type this operation takes.",
    "422": "The input breaks a rule: the problem names the field, the rule and its article.",
    "429": "Over the client's rate limit (`Retry-After` says when to come back).",
    "500": "The service failed; logged under the problem's `request_id`.",
    "502": "The service behind the gateway did not answer.",
    "503": "The database is away; retry after `Retry-After` seconds.",
}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Say in an OpenAPI document what every operation answers when it refuses or fails:
    each status it can answer with, as a problem document (RFC 9457)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if status.startswith(("4", "5")) and _framework_default(response):
                    response["content"] = content
            for status in _refusals_of(path, method, operation):
                responses.setdefault(status, {"description": REFUSALS[status],
                                              "content": content})
    for framework_schema in FRAMEWORK_VALIDATION_SCHEMAS:  # no answer uses them any more
        document["components"]["schemas"].pop(framework_schema, None)
    return document


def _refusals_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The statuses an operation can refuse or fail with, from where and how it is served."""
    statuses = ["400", "414", "422", "500", "503"]
    if path.startswith(("/api/", "/nodes/")):
        # Behind a token, a rate limit and a proxy; and any id, in the path or the body (an
        # entry code to request, to subscribe to), may name nothing the caller can see.
        statuses += ["401", "403", "404", "429", "502"]
    elif path.startswith(("/auth/", "/oauth/")):  # credentials that may be wrong
        statuses += ["401"]
    if "requestBody" in operation:
        statuses += ["413", "415"]
    if method in ("post", "put", "patch", "delete"):
        statuses.append("409")
    return statuses


def _framework_default(response: dict[str, Any]) -> bool:
    """A refusal documented without content, or as the framework's validation error (which
    our handlers answer as a problem instead)."""
    content = response.get("content")
    return not content or "HTTPValidationError" in str(content)


def problem_response(
    body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """Render a problem document with the problem media type."""
    return JSONResponse(
        body, status_code=body["status"], headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def caller_path(scope: Scope) -> str:
    """The path the caller used for this call (through the gateway, its `/api/…` path)."""
    prefix = next((value.decode("latin-1") for key, value in scope.get("headers", [])
                   if key.lower() == _FORWARDED_PREFIX), "")
    return prefix + scope["path"]


def instance_of(request: Request) -> str:
    return caller_path(request.scope)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.to_body(instance_of(request)), exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "message": error["msg"],
            "code": error["type"],
        }
        for error in exc.errors()
    ]
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type and any(
            error["field"] == "body" for error in errors):
        # The body as a whole was refused because it was not JSON at all.
        body = problem_body(
            415, "unsupported-media-type", "Unsupported media type",
            f"This operation takes a JSON body (Content-Type: application/json), not "
            f"{content_type.split(';')[0]}.", instance_of(request))
        return problem_response(body, {"Accept": "application/json"})
    if any(error["code"] == "json_invalid" for error in errors):
        body = problem_body(
            400, "malformed-body", "Malformed request body",
            "The body is not valid JSON.", instance_of(request), errors=errors,
        )
    else:
        fields = ", ".join(error["field"] for error in errors)
        body = problem_body(
            422, "validation-error", "The request breaks a rule",
            f"Invalid input: {fields}.", instance_of(request), errors=errors,
        )
    return problem_response(body)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    body = problem_body(
        exc.status_code, slug, str(exc.detail), str(exc.detail), instance_of(request)
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_methods_served(
            request.app.router.routes, request.scope)) or headers.get("Allow", "")
    return problem_response(body, headers)


def _methods_served(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves the call's path with. The router answers 405 from the
    first route whose path matched, so its Allow names that route's methods alone, not those
    of the routes beside it (GET and PATCH of one path are two routes)."""
    return [method for method in HTTP_METHODS
            if any(route.matches({**scope, "method": method})[0] is Match.FULL
                   for route in routes if not isinstance(route, Mount))]


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    # A uniqueness race the domain check could not see (two writers at once): the loser
    # gets the same answer it would have got a moment later.
    log.warning("integrity error answered as 409", extra={
        "path": request.url.path, "error": str(getattr(exc, "orig", exc))[:500]})
    body = problem_body(409, "conflict", "Conflict with the current state",
                        "The change conflicts with data written concurrently; reload and retry.",
                        instance_of(request))
    return problem_response(body)


# What asyncpg raises, used directly on the exchange's query path, when PostgreSQL is away,
# restarting or refusing connections.
# (Not asyncpg's InterfaceError: it includes the client's own DataError, a bug, not an outage.)
_ASYNCPG_AWAY = (asyncpg.exceptions.PostgresConnectionError,
                 asyncpg.exceptions.OperatorInterventionError,
                 asyncpg.exceptions.TooManyConnectionsError)


def _database_away(exc: BaseException) -> bool:
    # A pool with no connection free within its wait (PoolTimeoutError) is as busy as away.
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, *_ASYNCPG_AWAY)):
        return True
    if isinstance(exc, DBAPIError):
        # Connecting wraps what PostgreSQL answered ("the database system is shutting down",
        # "too many clients") in a plain DBAPIError: the driver's own error tells.
        driver = exc.orig.__cause__ if exc.orig is not None else None
        return bool(exc.connection_invalidated) or (
            driver is not None and _database_away(driver))
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # A connection PostgreSQL closed, used again; asyncpg's other InterfaceErrors are
        # the client's own mistakes.
        return str(exc) == "connection is closed"
    # Connecting raises the socket's own error unwrapped (no such socket file while the
    # server is down, connection refused, a timeout): the driver's frames tell it apart.
    return isinstance(exc, OSError | TimeoutError) and _raised_in_driver(exc)


def _raised_in_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if f"{os.sep}asyncpg{os.sep}" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False


def unexpected_problem(exc: Exception, instance: str,
                       request_id: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The answer to an error no handler expected: 503 with Retry-After while the database is
    away (the call may be retried), 500 otherwise."""
    if _database_away(exc):
        log.warning("database unavailable", extra={"path": instance, "error": repr(exc)[:500]})
        return problem_body(503, "service-unavailable", "Temporarily unavailable",
                            "The service cannot reach its database. Retry after a few "
                            "seconds; a write cut off while committing may have been kept, "
                            "so read before writing it again.", instance), {
            "Retry-After": RETRY_AFTER_UNAVAILABLE}
    log.error("unexpected error", exc_info=exc, extra={"path": instance})
    return problem_body(500, "internal-error", "Internal error",
                        "The service failed to answer this call; it is logged with the "
                        "request id.", instance, request_id=request_id), {}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of the app an RFC 9457 problem response."""
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
