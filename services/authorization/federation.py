"""Linking nodes into one network (requirements §2, G2): invitations, handshake, node tokens.

The parent's operator invites a child by its node id and hands the one-time code over out of
band; the child's operator runs `govshare node link`, which presents the code and the
child's identity and gateway address to the parent and records the parent's answer. Each
side then knows where the other's gateway and public keys are (`identity.node.linked.v1`
tells its services), and signs its federated calls with node tokens the other verifies.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import network
from services.authorization.exceptions import (
    DelegationRefused,
    InvitationInvalid,
    NodeNotInitialized,
    NodeNotLinked,
    RouteRefused,
    ZoneBoundary,
)
from services.authorization.models import Department, LinkInvitation, Node
from services.authorization.network import NetworkNodes, NodeIdentity
from services.authorization.node_keys import active_signing_key, require_local_node
from shared.contracts import LinkedNode, NodeLinked, NodeRelation, Role, Tier, Zone, zone_of
from shared.contracts.anchoring import AUDIT_ANCHOR_TYPE, AnchorStatement
from shared.contracts.submissions import SUBMISSION_TYPE, SubmissionStatement
from shared.linked_nodes import LinkedNodeTokens
from shared.outbox import Outbox
from shared.tokens import PrincipalKind, SigningKey, TokenClaims, issue_token, sign_statement

JWKS_PATH = "/.well-known/jwks.json"
NETWORK_PATH = "/federation/authorization/network"
NODE_TOKEN_ROLE = "federation"
MAX_HOPS = 8  # a county's call to another province's county passes six gateways

__all__ = ["NodeIdentity"]  # re-exported: linking speaks of it


class LinkRequest(BaseModel):
    """A child asking its parent to link: the invitation and where its gateway answers."""

    invitation: str = Field(min_length=16, max_length=200)
    node: NodeIdentity
    gateway_url: str = Field(pattern=r"^https?://", max_length=500)


class Invitation(BaseModel):
    code: str = Field(description="Give it to the child's operator; it works once.")
    child_node_id: str
    expires_at: datetime


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def invite(session: AsyncSession, *, child_node_id: str, actor: str,
                 valid_for: timedelta) -> Invitation:
    await require_local_node(session)
    code = secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + valid_for
    session.add(LinkInvitation(code_hash=_digest(code), child_node_id=child_node_id,
                               created_by=actor, expires_at=expires_at))
    return Invitation(code=code, child_node_id=child_node_id, expires_at=expires_at)


async def accept_child(session: AsyncSession, outbox: Outbox,
                       request: LinkRequest) -> NodeIdentity:
    """The parent's side: check the invitation, record the child, answer who we are."""
    invitation = await session.get(LinkInvitation, _digest(request.invitation),
                                   with_for_update=True)
    if (invitation is None or invitation.used_at is not None
            or invitation.expires_at <= datetime.now(UTC)
            or invitation.child_node_id != request.node.node_id):
        raise InvitationInvalid("The invitation is unknown, used, expired, or for another "
                                "node.")
    invitation.used_at = datetime.now(UTC)
    await _record(session, outbox, request.node, NodeRelation.child, request.gateway_url)
    return _identity(await require_local_node(session))


async def record_parent(session: AsyncSession, outbox: Outbox, parent: NodeIdentity,
                        gateway_url: str) -> Node:
    """The child's side, once the parent accepted: remember where the parent is."""
    return await _record(session, outbox, parent, NodeRelation.parent, gateway_url)


async def linked_nodes(session: AsyncSession) -> list[Node]:
    return list(await session.scalars(select(Node).where(Node.relation.isnot(None))
                                      .order_by(Node.id)))


class Delegation(BaseModel):
    """Whom a node acts for in a call across nodes (F2): one of its users or systems."""

    sub: str = Field(max_length=64)
    department: str = Field(pattern=r"^[0-9A-Z]{18}$")
    roles: list[str] = Field(max_length=10)


REMOTE_ROLES = frozenset({Role.data_operator, Role.request_reviewer})
"""What a department on another node may do here: request data and use it, nothing more."""


@dataclass(frozen=True)
class Relayed:
    """A token for the next hop of a call and where that hop's gateway is."""

    token: str
    ttl: int
    next_hop: str | None = None
    gateway_url: str | None = None


async def node_token(session: AsyncSession, *, audience: str, ttl_seconds: int,
                     on_behalf_of: Delegation | None = None) -> Relayed:
    """A token that says "this node" (and, delegated, for whom) to the node `audience`,
    signed with our key; for a node beyond the linked ones it is made for the neighbour it
    goes through and names `audience` as its destination (F5)."""
    node = await require_local_node(session)
    if audience == node.id:
        raise NodeNotLinked(f"{audience} is this node.")
    hop = await network.next_hop(session, audience)
    claims: dict[str, object] = {"iss": node.id, "sub": node.id, "node": node.id,
                                 "kind": PrincipalKind.node, "aud": hop.id,
                                 "roles": [NODE_TOKEN_ROLE]}
    if hop.id != audience:
        claims |= {"dest": audience, "path": [node.id]}
    if on_behalf_of is not None:
        claims |= {"act": on_behalf_of.sub, "department": on_behalf_of.department,
                   "roles": sorted(set(on_behalf_of.roles) & REMOTE_ROLES)}
    return Relayed(await _signed(session, claims, ttl_seconds), ttl_seconds, hop.id,
                   hop.gateway_url)


async def relayed_token(session: AsyncSession, tokens: LinkedNodeTokens, node_token_: str,
                        ttl_seconds: int, *, delegated: bool = True) -> Relayed:
    """What a call a neighbour relayed here goes on with (F2, F5), once the neighbour's token
    is verified and the zone rules (F3) hold at this hop: for a call to a node further on,
    this node's token for the next hop, this node added to the path; for a department's call
    that arrived, a token of this node that its services understand (the other node's
    department, with no more than REMOTE_ROLES, and the path it came by); for a node's own
    call that arrived, the neighbour's token, which the service checks itself."""

    async def jwks_of_linked(node_id: str) -> str | None:
        linked = await session.get(Node, node_id)
        return linked.jwks_url if linked is not None and linked.relation else None

    claims = await tokens.verify(node_token_, jwks_of_linked)
    local = await require_local_node(session)
    path = relay_path(claims, local.id)
    destination = claims.dest or local.id
    check_zones(local.id, Zone(local.zone), path, destination, delegated=delegated)
    if delegated:
        await _check_delegation(session, claims)
    ttl = min(ttl_seconds, max(claims.exp - int(time.time()), 1))  # not beyond the original
    if destination != local.id:
        hop = await network.next_hop(session, destination)
        if hop.id in path:
            raise RouteRefused(f"{destination} lies back the way the call came.")
        onward: dict[str, object] = {
            "iss": local.id, "sub": local.id, "node": local.id, "kind": PrincipalKind.node,
            "aud": hop.id, "dest": destination, "path": [*path, local.id],
            "roles": sorted(set(claims.roles) & REMOTE_ROLES) if delegated
            else [NODE_TOKEN_ROLE]}
        if delegated:
            onward |= {"act": claims.act, "department": claims.department}
        return Relayed(await _signed(session, onward, ttl), ttl, hop.id, hop.gateway_url)
    if not delegated:
        return Relayed(node_token_, ttl)
    return Relayed(await _signed(session, {
        "iss": local.id, "sub": f"{path[0]}/{claims.act}", "node": path[0],
        "kind": PrincipalKind.node, "department": claims.department, "path": path,
        "roles": sorted(set(claims.roles) & REMOTE_ROLES)}, ttl), ttl)


def relay_path(claims: TokenClaims, local: str) -> list[str]:
    """The nodes the call came through, origin first, checked: it ends with the neighbour
    that signed, names nodes of known zones, and neither loops nor runs on without end."""
    path = claims.path or [claims.iss]
    try:
        zones = [zone_of(node) for node in path]
    except ValueError:
        zones = []
    if (path[-1] != claims.iss or local in path or len(path) > MAX_HOPS
            or len(zones) != len(path) or len(set(path)) != len(path)):
        raise RouteRefused("The call's path of nodes is not one this node relays.")
    return path


def check_zones(local: str, local_zone: Zone, path: list[str], destination: str, *,
                delegated: bool) -> None:
    """F3 at this hop. A department's call is answered back along its path: an internal-zone
    node serves and relays none that came from the external zone. A node's own call carries
    what its origin sends: nothing that came from the internal zone goes on into the
    external one."""
    from_external = any(zone_of(node) == Zone.external for node in path)
    from_internal = any(zone_of(node) == Zone.internal for node in path)
    if delegated and local_zone == Zone.internal and from_external:
        raise ZoneBoundary("An internal-zone node serves and relays no calls from an "
                           "external-zone node.", node=local)
    if not delegated and from_internal and Zone.external in (local_zone, zone_of(destination)):
        raise ZoneBoundary("What comes from the internal zone does not go on into the "
                           "external one.", node=local)


async def _check_delegation(session: AsyncSession, claims: TokenClaims) -> None:
    if not claims.department or not claims.act:
        raise DelegationRefused("The node token acts for no department.")
    if await session.get(Department, claims.department) is not None:
        # A linked node speaks for its own departments, never for one of ours.
        raise DelegationRefused("The node token acts for a department of this node.")


# --- the tree, learned along the links (F5) ---------------------------------------------------


async def tell_parent(session: AsyncSession, http: httpx.AsyncClient,
                      ttl_seconds: int) -> int | None:
    """Tell the parent the nodes below this one and learn from its answer those beyond;
    how many this node now reaches through the parent (None: it has no parent)."""
    parent = await session.scalar(select(Node).where(Node.relation == NodeRelation.parent))
    if parent is None or not parent.gateway_url:
        return None
    token = (await node_token(session, audience=parent.id, ttl_seconds=ttl_seconds)).token
    below = NetworkNodes(nodes=await network.below(session))
    response = await http.post(parent.gateway_url + NETWORK_PATH,
                               json=below.model_dump(mode="json"),
                               headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    beyond = NetworkNodes.model_validate(response.json())
    return await network.learn(session, via=parent.id, nodes=beyond.nodes)


async def hear_child(session: AsyncSession, tokens: LinkedNodeTokens, token: str,
                     below: NetworkNodes) -> NetworkNodes:
    """A child's nodes below it, learned; the answer is the nodes beyond it."""

    async def jwks_of_child(node_id: str) -> str | None:
        child = await session.get(Node, node_id)
        return child.jwks_url if child is not None and child.relation == NodeRelation.child \
            else None

    child = (await tokens.verify(token, jwks_of_child)).iss
    await network.learn(session, via=child, nodes=below.nodes)
    return NetworkNodes(nodes=await network.beyond(session, child))


async def countersign_heads(session: AsyncSession,
                            statements: list[AnchorStatement]) -> list[str]:
    """This node's signed statements that it holds these heads of its children's audit
    chains (E5): for the exchange, which keeps them; only statements of this one shape are
    signed here, never a token."""
    node = await require_local_node(session)
    key = await _signing_key(session)
    return [sign_statement(key, {**statement.model_dump(mode="json"), "iss": node.id},
                           AUDIT_ANCHOR_TYPE) for statement in statements]


async def sign_submission(session: AsyncSession, statement: SubmissionStatement) -> str:
    """This node's signed statement of a report or figures it submits to its parent (F7);
    only statements of this one shape are signed here, never a token."""
    node = await require_local_node(session)
    return sign_statement(await _signing_key(session),
                          {**statement.model_dump(mode="json"), "iss": node.id},
                          SUBMISSION_TYPE)


async def _signed(session: AsyncSession, claims: dict[str, object], ttl_seconds: int) -> str:
    return issue_token(await _signing_key(session), claims, ttl_seconds)


async def _signing_key(session: AsyncSession) -> SigningKey:
    key = await active_signing_key(session)
    if key is None:
        raise NodeNotInitialized("The node has no signing key; run `govshare node init`.")
    return key


def local_identity(node: Node) -> NodeIdentity:
    return _identity(node)


def _identity(node: Node) -> NodeIdentity:
    return NodeIdentity(node_id=node.id, name=node.name, tier=Tier(node.tier),
                        region_code=node.region_code, zone=Zone(node.zone))


async def _record(session: AsyncSession, outbox: Outbox, identity: NodeIdentity,
                  relation: NodeRelation, gateway_url: str) -> Node:
    local = await require_local_node(session)
    if identity.node_id == local.id:
        raise InvitationInvalid("A node cannot link to itself.")
    gateway_url = gateway_url.rstrip("/")
    node = await session.get(Node, identity.node_id) or Node(id=identity.node_id)
    node.name, node.tier, node.region_code, node.zone = (
        identity.name, identity.tier, identity.region_code, identity.zone)
    node.is_local, node.relation, node.linked_at = False, relation, datetime.now(UTC)
    node.gateway_url, node.jwks_url = gateway_url, gateway_url + JWKS_PATH
    session.add(node)
    await session.flush()
    await outbox.add(session, node.id, NodeLinked(node=LinkedNode(
        node_id=node.id, name=node.name, tier=identity.tier, region_code=node.region_code,
        zone=identity.zone, relation=relation, gateway_url=node.gateway_url,
        jwks_url=node.jwks_url)))
    return node
