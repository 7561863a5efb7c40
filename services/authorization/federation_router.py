"""Linking nodes over HTTP (G2).

`/federation/links` is what a child's `govshare node link` calls on the parent's gateway
(`/federation/authorization/links`, no bearer token: the invitation is the credential).
`/internal/node-tokens` signs node tokens for this node's own services, and
`/internal/audit-anchor-signatures` the exchange's countersignatures of its children's audit
heads; the gateway never routes `/internal/…`, so only the node's internal network reaches
them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from services.authorization import federation, network
from services.authorization.deps import OutboxDep, SessionDep, SettingsDep
from services.authorization.federation import (
    Delegation,
    Invitation,
    LinkRequest,
    NodeIdentity,
    Relayed,
)
from services.authorization.network import KnownNode, NetworkNodes
from shared.auth import parse_bearer, require_role
from shared.contracts import LinkedNode, NodeRelation, Role, Tier, Zone
from shared.contracts.anchoring import AnchorStatements, Countersignatures
from shared.contracts.submissions import SubmissionSignature, SubmissionStatement
from shared.pagination import Page, PageDep
from shared.tokens import TokenClaims

router = APIRouter(tags=["federation"])
Admin = Annotated[TokenClaims, Depends(require_role(Role.node_admin))]
Overseer = Annotated[TokenClaims, Depends(require_role(Role.node_admin, Role.auditor))]


class InvitationCreate(BaseModel):
    child_node_id: str = Field(pattern=r"^[0-9]{6}-(internal|external)$",
                               examples=["320100-external"])
    valid_hours: int = Field(24, ge=1, le=24 * 14)


class NodeTokenRequest(BaseModel):
    audience: str = Field(description="Id of the node the call is for: a linked node, or one "
                                      "further on, reached through a linked one (F5).")
    on_behalf_of: Delegation | None = Field(
        None, description="The user or system of this node the call is made for (F2).")


class RemoteTokenRequest(BaseModel):
    token: str = Field(description="A linked node's node token.")
    delegated: bool = Field(True, description="A department's call (`/federation/relay/…`); "
                                              "false: a node's own call to a service.")


class NodeToken(BaseModel):
    access_token: str
    expires_in: int
    next_hop: str | None = Field(None, description="The linked node to send the call to; "
                                                   "none: it has arrived here.")
    gateway_url: str | None = Field(None, description="Where that node's gateway answers.")

    @classmethod
    def of(cls, relayed: Relayed) -> NodeToken:
        return cls(access_token=relayed.token, expires_in=relayed.ttl,
                   next_hop=relayed.next_hop, gateway_url=relayed.gateway_url)


@router.post("/federation/invitations", response_model=Invitation,
             status_code=status.HTTP_201_CREATED)
async def create_invitation(body: InvitationCreate, session: SessionDep,
                            principal: Admin) -> Invitation:
    """Invite a child node to link with this one; the code works once."""
    return await federation.invite(session, child_node_id=body.child_node_id,
                                   actor=principal.sub,
                                   valid_for=timedelta(hours=body.valid_hours))


@router.post("/federation/links", response_model=NodeIdentity,
             status_code=status.HTTP_201_CREATED)
async def accept_link(body: LinkRequest, session: SessionDep,
                      outbox: OutboxDep) -> NodeIdentity:
    """A child presents its invitation and identity; the answer is this node's identity."""
    return await federation.accept_child(session, outbox, body)


@router.get("/federation/nodes", response_model=list[LinkedNode])
async def list_linked_nodes(session: SessionDep, principal: Overseer) -> list[LinkedNode]:
    """The parent and the children this node is linked with."""
    return await _linked(session)


@router.get("/federation/network", response_model=Page[KnownNode])
async def list_network(session: SessionDep, principal: Overseer,
                       page: PageDep) -> dict[str, object]:
    """Every node of the network this node knows of and the neighbour it reaches it through
    (F5), itself first: learned along the links, kept up to date every few seconds."""
    nodes = await network.known(session)
    return page.wrap(nodes[page.offset:page.offset + page.limit], len(nodes))


@router.post("/federation/network", response_model=NetworkNodes)
async def exchange_network(body: NetworkNodes, session: SessionDep,
                           request: Request) -> NetworkNodes:
    """A linked child tells the nodes below it (node token); the answer is the nodes beyond
    it, which it reaches through this node (F5)."""
    return await federation.hear_child(
        session, request.app.state.linked_node_tokens,
        parse_bearer(request.headers.get("authorization", "")), body)


async def _linked(session: SessionDep) -> list[LinkedNode]:
    return [LinkedNode(node_id=node.id, name=node.name, tier=Tier(node.tier),
                       region_code=node.region_code, zone=Zone(node.zone),
                       relation=NodeRelation(node.relation or ""),
                       gateway_url=node.gateway_url or "", jwks_url=node.jwks_url or "")
            for node in await federation.linked_nodes(session)]


@router.post("/internal/node-tokens", response_model=NodeToken, include_in_schema=False)
async def sign_node_token(body: NodeTokenRequest, session: SessionDep,
                          settings: SettingsDep) -> NodeToken:
    return NodeToken.of(await federation.node_token(
        session, audience=body.audience, ttl_seconds=settings.token_ttl_seconds,
        on_behalf_of=body.on_behalf_of))


@router.post("/internal/remote-tokens", response_model=NodeToken, include_in_schema=False)
async def exchange_remote_token(body: RemoteTokenRequest, session: SessionDep,
                                settings: SettingsDep, request: Request) -> NodeToken:
    """For the gateway: a linked node's token → what the call goes on with: a token for the
    next hop (F5), or, arrived, one of this node for the other node's department (F2)."""
    return NodeToken.of(await federation.relayed_token(
        session, request.app.state.linked_node_tokens, body.token, settings.token_ttl_seconds,
        delegated=body.delegated))


@router.post("/internal/audit-anchor-signatures", response_model=Countersignatures,
             include_in_schema=False)
async def countersign_audit_heads(body: AnchorStatements,
                                  session: SessionDep) -> Countersignatures:
    """For the exchange: this node's signature on each child's head it holds (E5)."""
    return Countersignatures(signatures=await federation.countersign_heads(
        session, body.statements))


@router.post("/internal/submission-signatures", response_model=SubmissionSignature,
             include_in_schema=False)
async def sign_submission(body: SubmissionStatement,
                          session: SessionDep) -> SubmissionSignature:
    """For the evaluation: this node's signature on what it hands up to its parent (F7)."""
    return SubmissionSignature(signature=await federation.sign_submission(session, body))


@router.get("/internal/linked-nodes", response_model=list[LinkedNode],
            include_in_schema=False)
async def linked_nodes_for_gateway(session: SessionDep) -> list[LinkedNode]:
    """For the gateway: where each linked node's gateway is."""
    return await _linked(session)
