"""Node tokens from linked nodes (G2): verified with the keys the calling node publishes.

A service or the gateway asks for a token's checking with a function that maps a node id to
the JWKS address of that node if it is linked in a relation it accepts (None otherwise);
verifiers per node are kept, so key rotation on the other node reaches us as it does locally.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from shared.contracts import NodeRelation
from shared.problems import Forbidden, Unauthorized
from shared.runtime import jwks_from_url
from shared.tokens import KeySet, PrincipalKind, TokenClaims, TokenVerifier, unverified_issuer

JwksUrlOf = Callable[[str], Awaitable[str | None]]


class LinkedNodeTokens:
    def __init__(self, local_node: str) -> None:
        self.local_node = local_node
        self._verifiers: dict[str, TokenVerifier] = {}

    async def verify(self, token: str, jwks_url_of: JwksUrlOf) -> TokenClaims:
        """The claims of a node token a linked node made for this node; 401/403 otherwise."""
        claimed = unverified_issuer(token)
        jwks_url = await jwks_url_of(claimed) if claimed else None
        if jwks_url is None:
            raise Unauthorized("The token is not from a node linked to this one.",
                               reason="node_not_linked")
        verifier = self._verifiers.get(jwks_url)
        if verifier is None:
            verifier = self._verifiers[jwks_url] = TokenVerifier(KeySet(jwks_from_url(jwks_url)))
        claims = await verifier.verify(token, audience=self.local_node)
        if (claims.kind != PrincipalKind.node or claims.iss != claimed
                or claims.aud != self.local_node):
            raise Forbidden("The token is not a node token of the caller for this node.",
                            reason="not_a_node_token")
        return claims


class NodeTokens:
    """Node tokens for calls to linked nodes, signed by this node's identity service (which
    alone holds the key) and reused until shortly before they expire."""

    def __init__(self, http: httpx.AsyncClient, identity_url: str) -> None:
        self.http = http
        self.identity_url = identity_url.rstrip("/")
        self._tokens: dict[tuple[Any, ...], tuple[str, float]] = {}

    async def for_node(self, audience: str, on_behalf_of: TokenClaims | None = None) -> str:
        """A token for `audience`; with `on_behalf_of`, carrying that principal's
        department and roles (F2)."""
        body: dict[str, Any] = {"audience": audience}
        key: tuple[Any, ...] = (audience,)
        if on_behalf_of is not None:
            body["on_behalf_of"] = {"sub": on_behalf_of.sub,
                                    "department": on_behalf_of.department,
                                    "roles": on_behalf_of.roles}
            key += (on_behalf_of.sub, on_behalf_of.department, tuple(on_behalf_of.roles))
        token, good_until = self._tokens.get(key, ("", 0.0))
        if time.monotonic() < good_until:
            return token
        response = await self.http.post(f"{self.identity_url}/internal/node-tokens", json=body)
        response.raise_for_status()
        answer = response.json()
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (answer["access_token"],
                             time.monotonic() + answer["expires_in"] * 0.8)
        return str(answer["access_token"])


class LinkedNodeDirectory:
    """The linked nodes as the identity service knows them, briefly cached: where each
    one's gateway and keys are."""

    def __init__(self, http: httpx.AsyncClient, identity_url: str, max_age: float = 10.0):
        self.http = http
        self.identity_url = identity_url.rstrip("/")
        self.max_age = max_age
        self._nodes: dict[str, dict[str, Any]] = {}
        self._loaded_at = float("-inf")

    async def get(self, node_id: str) -> dict[str, Any] | None:
        """The node as `identity.node.linked.v1` describes it, or None if not linked."""
        if node_id not in self._nodes or time.monotonic() - self._loaded_at > self.max_age:
            await self._load()
        return self._nodes.get(node_id)

    async def parent(self) -> dict[str, Any] | None:
        """This node's parent, or None if it has none (the national node, or not linked)."""
        if time.monotonic() - self._loaded_at > self.max_age:
            await self._load()
        return next((node for node in self._nodes.values()
                     if node["relation"] == NodeRelation.parent), None)

    async def _load(self) -> None:
        response = await self.http.get(f"{self.identity_url}/internal/linked-nodes")
        response.raise_for_status()
        self._nodes = {node["node_id"]: node for node in response.json()}
        self._loaded_at = time.monotonic()

    async def gateway_of(self, node_id: str) -> str | None:
        node = await self.get(node_id)
        return str(node["gateway_url"]) if node else None

    async def jwks_of(self, node_id: str) -> str | None:
        node = await self.get(node_id)
        return str(node["jwks_url"]) if node else None
