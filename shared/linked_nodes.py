"""Node tokens from linked nodes (G2): verified with the keys the calling node publishes.

A service or the gateway asks for a token's checking with a function that maps a node id to
the JWKS address of that node if it is linked in a relation it accepts (None otherwise);
verifiers per node are kept, so key rotation on the other node reaches us as it does locally.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.contracts import NodeRelation
from shared.problems import Forbidden, NotFound, Unauthorized
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


@dataclass(frozen=True)
class Route:
    """How a call to a node goes out: the token for the first hop and where that hop is."""

    token: str
    next_hop: str
    gateway_url: str


class NodeTokens:
    """Node tokens for calls to other nodes, signed by this node's identity service (which
    alone holds the key and knows the tree) and reused until shortly before they expire."""

    def __init__(self, http: httpx.AsyncClient, identity_url: str) -> None:
        self.http = http
        self.identity_url = identity_url.rstrip("/")
        self._routes: dict[tuple[Any, ...], tuple[Route, float]] = {}

    async def for_node(self, audience: str, on_behalf_of: TokenClaims | None = None) -> str:
        """A token for the linked node `audience`; with `on_behalf_of`, carrying that
        principal's department and roles (F2)."""
        return (await self.route_to(audience, on_behalf_of)).token

    async def route_to(self, destination: str,
                       on_behalf_of: TokenClaims | None = None) -> Route:
        """The way to `destination`, a linked node or one beyond (F5): its first hop and the
        token for it. NotFound if the node is none this node knows of."""
        body: dict[str, Any] = {"audience": destination}
        key: tuple[Any, ...] = (destination,)
        if on_behalf_of is not None:
            body["on_behalf_of"] = {"sub": on_behalf_of.sub,
                                    "department": on_behalf_of.department,
                                    "roles": on_behalf_of.roles}
            key += (on_behalf_of.sub, on_behalf_of.department, tuple(on_behalf_of.roles))
        route, good_until = self._routes.get(key, (None, 0.0))
        if route is not None and time.monotonic() < good_until:
            return route
        response = await self.http.post(f"{self.identity_url}/internal/node-tokens", json=body)
        if response.status_code == 404:
            raise NotFound(f"{destination} is no node of the network this node knows of.",
                           reason="node_unknown", node=destination)
        response.raise_for_status()
        answer = response.json()
        route = Route(str(answer["access_token"]), str(answer["next_hop"]),
                      str(answer["gateway_url"]))
        if len(self._routes) > 10_000:
            self._routes.clear()
        self._routes[key] = (route, time.monotonic() + answer["expires_in"] * 0.8)
        return route


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

    async def all(self) -> list[dict[str, Any]]:
        """Every linked node, parent and children."""
        if time.monotonic() - self._loaded_at > self.max_age:
            await self._load()
        return list(self._nodes.values())

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
