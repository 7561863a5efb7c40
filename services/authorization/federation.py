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
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import (
    DelegationRefused,
    InvitationInvalid,
    NodeNotInitialized,
    NodeNotLinked,
    ZoneBoundary,
)
from services.authorization.models import Department, LinkInvitation, Node
from services.authorization.node_keys import active_signing_key, require_local_node
from shared.contracts import LinkedNode, NodeLinked, NodeRelation, Role, Tier, Zone
from shared.contracts.anchoring import AUDIT_ANCHOR_TYPE, AnchorStatement
from shared.contracts.values import NOT_BLANK
from shared.linked_nodes import LinkedNodeTokens
from shared.outbox import Outbox
from shared.tokens import PrincipalKind, SigningKey, issue_token, sign_statement

JWKS_PATH = "/.well-known/jwks.json"
NODE_TOKEN_ROLE = "federation"


class NodeIdentity(BaseModel):
    """Who a node is, as it introduces itself when linking."""

    node_id: str = Field(pattern=r"^[0-9]{6}-(internal|external)$", examples=["320100-external"])
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                           pattern=NOT_BLANK)]
    tier: Tier
    region_code: str = Field(pattern=r"^[0-9]{6}$")
    zone: Zone

    @model_validator(mode="after")
    def _id_names_region_and_zone(self) -> NodeIdentity:
        # The invitation names the node id; its zone must be the zone it then declares.
        if self.node_id != f"{self.region_code}-{self.zone}":
            raise ValueError("node_id must read <region_code>-<zone>")
        return self


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


async def node_token(session: AsyncSession, *, audience: str, ttl_seconds: int,
                     on_behalf_of: Delegation | None = None) -> str:
    """A token that says "this node" (and, delegated, for whom) to the linked node
    `audience`, signed with our key."""
    node = await require_local_node(session)
    if await session.scalar(select(Node.id).where(Node.id == audience,
                                                  Node.relation.isnot(None))) is None:
        raise NodeNotLinked(f"{audience} is not linked with this node.")
    claims: dict[str, object] = {"iss": node.id, "sub": node.id, "node": node.id,
                                 "kind": PrincipalKind.node, "aud": audience,
                                 "roles": [NODE_TOKEN_ROLE]}
    if on_behalf_of is not None:
        claims |= {"act": on_behalf_of.sub, "department": on_behalf_of.department,
                   "roles": sorted(set(on_behalf_of.roles) & REMOTE_ROLES)}
    return await _signed(session, claims, ttl_seconds)


async def remote_principal_token(session: AsyncSession, tokens: LinkedNodeTokens,
                                 node_token_: str, ttl_seconds: int) -> tuple[str, int]:
    """Exchange a linked node's delegated node token for a token of this node that its
    services understand: the other node's department, with no more than REMOTE_ROLES."""

    async def jwks_of_linked(node_id: str) -> str | None:
        linked = await session.get(Node, node_id)
        return linked.jwks_url if linked is not None and linked.relation else None

    claims = await tokens.verify(node_token_, jwks_of_linked)
    if not claims.department or not claims.act:
        raise DelegationRefused("The node token acts for no department.")
    local = await require_local_node(session)
    caller = await session.get(Node, claims.iss)
    if local.zone == Zone.internal and caller is not None and caller.zone == Zone.external:
        # F3: what an internal node holds is not served into the external network; its
        # unclassified catalog still goes up (F1), its data stays on this side.
        raise ZoneBoundary("An internal-zone node serves no calls from an external-zone node.")
    if await session.get(Department, claims.department) is not None:
        # A linked node speaks for its own departments, never for one of ours.
        raise DelegationRefused("The node token acts for a department of this node.")
    ttl = min(ttl_seconds, max(claims.exp - int(time.time()), 1))  # not beyond the original
    return await _signed(session, {
        "iss": local.id, "sub": f"{claims.iss}/{claims.act}", "node": claims.iss,
        "kind": PrincipalKind.node, "department": claims.department,
        "roles": sorted(set(claims.roles) & REMOTE_ROLES)}, ttl), ttl


async def countersign_heads(session: AsyncSession,
                            statements: list[AnchorStatement]) -> list[str]:
    """This node's signed statements that it holds these heads of its children's audit
    chains (E5): for the exchange, which keeps them; only statements of this one shape are
    signed here, never a token."""
    node = await require_local_node(session)
    key = await _signing_key(session)
    return [sign_statement(key, {**statement.model_dump(mode="json"), "iss": node.id},
                           AUDIT_ANCHOR_TYPE) for statement in statements]


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
