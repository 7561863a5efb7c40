"""A path that a later hop would resolve elsewhere never passes the gateway: the services'
`/internal/…` (node tokens, signatures, forwarded accesses) stay out of reach. Sent as raw
HTTP, since HTTP clients resolve dot segments before sending."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningNode

NODE_TOKEN_ASK = json.dumps({"audience": "320000-internal", "on_behalf_of": {
    "sub": "attacker", "department": "91320100MA1XXXXX0X", "roles": ["data_operator"]}})

ATTACKS = [
    ("POST", "/federation/authorization/x/../../internal/node-tokens", NODE_TOKEN_ASK),
    ("POST", "/federation/authorization/x/%2e%2e/%2E%2E/internal/node-tokens", NODE_TOKEN_ASK),
    ("POST", "/federation/authorization/x%2f..%2f..%2finternal/node-tokens", NODE_TOKEN_ASK),
    ("POST", "/federation/exchange/x/../../internal/forwarded-accesses", "[]"),
    ("GET", "/federation/exchange/x/../../internal/linked-nodes", ""),
    ("GET", "/api/authorization/x/../internal/linked-nodes", ""),
    ("GET", "/api/exchange/./internal/grants/00000000-0000-0000-0000-000000000000", ""),
    ("GET", "/nodes/320000-internal/api/exchange/../../../internal/linked-nodes", ""),
    ("GET", "/x/..\\internal/linked-nodes", ""),
]


async def raw_call(gateway_url: str, method: str, path: str, body: str) -> tuple[int, dict]:
    """One HTTP/1.1 call with the path exactly as written; its status and JSON body."""
    address = urlsplit(gateway_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    payload = body.encode()
    writer.write((f"{method} {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                  "Connection: close\r\n\r\n").encode() + payload)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(content or b"{}")


@pytest.mark.parametrize(("method", "path", "body"), ATTACKS)
async def test_a_path_with_dot_segments_is_refused_before_any_route(
    node: RunningNode, method: str, path: str, body: str
) -> None:
    status, problem = await raw_call(node.gateway_url, method, path, body)
    assert (status, problem.get("type", "").rsplit("/", 1)[-1]) == (400, "path-not-normal"), \
        (path, problem)
    assert "access_token" not in problem and "token" not in problem
