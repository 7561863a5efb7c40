"""Only paths in normal form pass the gateway.

Every routing decision here (which service, whether a route is one the gateway never
routes, such as a service's `/internal/…`) is made on the path as it came; a `.` or `..`
segment, plain or percent-encoded (also between encoded slashes, which a later hop may
decode), would be resolved later on the way to the service (the HTTP client normalises it)
and land somewhere else than what was checked. So such a path, and one with a backslash
that a later hop may read as a separator, is refused at the door, before any route sees it.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web import send_problem_for

_DOT_SEGMENTS = frozenset({".", ".."})


def is_normal(raw_path: str) -> bool:
    """No dot segment and no backslash, read as sent and with its percent-escapes decoded."""
    decoded = unquote(raw_path)
    if "\\" in decoded:
        return False
    return not any(segment in _DOT_SEGMENTS
                   for path in (raw_path, decoded) for segment in path.split("/"))


class NormalPaths:
    """Answers 400 `path-not-normal` to a call whose path is not in normal form."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            if not (is_normal(raw) and is_normal(scope["path"])):
                await send_problem_for(
                    send, 400, "path-not-normal", "The path is not in normal form",
                    "A path may hold no '.' or '..' segment (even percent-encoded) and no "
                    "'\\\\': send the path it resolves to.", "/")
                return
        await self.app(scope, receive, send)
