"""The HTTP server every process of a node runs: uvicorn on httptools, with one change.

A request the server cannot read (a request line or header block it cannot parse, or a
target longer than a node accepts) never reaches the app, so uvicorn answers it itself, in
plain text. Here it gets a problem body like every other refusal: 414 for a target that is
too long (a query string a client built too big), 400 for anything else unreadable.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import unquote_to_bytes

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from shared.problems import PROBLEM_MEDIA_TYPE, problem_body

# Well under what the parser itself refuses (about 64 KiB), so the limit is ours to name.
MAX_TARGET_BYTES = 16 * 1024
HTTP_PROTOCOL = "shared.http_server:ProblemAnsweringHttpToolsProtocol"
# An over-long target's path is named in the problem up to this many bytes.
MAX_INSTANCE_BYTES = 1024


class _TargetTooLong(Exception):
    pass


class ProblemAnsweringHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering unreadable requests with a problem body."""

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            raise _TargetTooLong  # the parser stops and reports a callback error

    def send_400_response(self, msg: str) -> None:
        target = getattr(self, "url", b"")  # none yet if the request line itself is garbage
        if len(target) > MAX_TARGET_BYTES:
            body = problem_body(414, "uri-too-long", "Request target too long",
                                f"The path and query string exceed {MAX_TARGET_BYTES} bytes; "
                                "send large filters in a request body instead.",
                                _instance(target))
        else:
            body = problem_body(400, "unreadable-request", "The request cannot be read",
                                "The request line or its headers are not valid HTTP/1.1.",
                                _instance(target))
        encoded = json.dumps(body).encode()
        head = [STATUS_LINE[body["status"]]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: ", PROBLEM_MEDIA_TYPE.encode(), b"\r\n",
                 b"content-length: ", str(len(encoded)).encode(), b"\r\n",
                 b"connection: close\r\n\r\n", encoded]
        self.transport.write(b"".join(head))
        self.transport.close()


def _instance(target: bytes) -> str | None:
    """The path of a request target as far as it was read, as `instance` names a path (the
    gateway's server reads the caller's own), without the query; cut short if it is long."""
    path = target.partition(b"?")[0][:MAX_INSTANCE_BYTES]
    return unquote_to_bytes(path).decode("utf-8", "replace") or None


def uvicorn_command(factory: str, host: str, port: int, *extra: str) -> list[str]:
    """The command that serves the app `factory` makes (a node process). uvicorn's own
    reading of X-Forwarded-For is off: it believes any caller on 127.0.0.1, and the gateway
    determines the caller's address itself (gateway/forwarded.py)."""
    return [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", host,
            "--port", str(port), "--http", HTTP_PROTOCOL, "--no-access-log",
            "--no-proxy-headers", *extra]
