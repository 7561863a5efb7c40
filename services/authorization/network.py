"""The network as this node knows it (F5): every node of the tree and the neighbour it is
reached through.

Linking (G2) tells a node of its neighbours only. What lies beyond them travels on the same
links: every few seconds a child tells its parent the nodes below it (its children and what
they told it of theirs), and the parent answers with the nodes beyond the child (itself, its
ancestors and their other descendants). So every node learns the whole tree with no
configuration, and what a neighbour says replaces what it said before: a node moved or gone
is forgotten at the next exchange.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import NodeUnknown
from services.authorization.models import NetworkNode, Node
from shared.contracts import NodeRelation, Tier, Zone
from shared.contracts.values import NOT_BLANK

NODE_ID = r"^[0-9]{6}-(internal|external)$"
MAX_NODES = 5000


class NodeIdentity(BaseModel):
    """Who a node is, as it introduces itself when linking."""

    node_id: str = Field(pattern=NODE_ID, examples=["320100-external"])
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


class NetworkNodes(BaseModel):
    """Nodes one neighbour tells another of: below a child, or beyond it."""

    nodes: list[NodeIdentity] = Field(max_length=MAX_NODES)


class KnownNode(NodeIdentity):
    """A node of the network and how this node reaches it."""

    relation: str = Field(description="`self`, `parent`, `child`, or `beyond` (a node further "
                                      "on, reached through `via`).")
    via: str | None = Field(None, description="The linked node a call to it goes to first.")


async def next_hop(session: AsyncSession, destination: str) -> Node:
    """The linked node a call for `destination` goes to: the destination itself if linked,
    else the neighbour it was learned through (NodeUnknown if none)."""
    node = await session.get(Node, destination)
    if node is not None and node.relation:
        return node
    known = await session.get(NetworkNode, destination)
    via = await session.get(Node, known.via) if known is not None else None
    if via is None or not via.relation:
        raise NodeUnknown(f"{destination} is no node of the network as this node knows it.")
    return via


async def below(session: AsyncSession) -> list[NodeIdentity]:
    """What this node tells its parent: its children and the nodes they told it of."""
    children = list(await session.scalars(select(Node).where(
        Node.relation == NodeRelation.child)))
    further = await session.scalars(select(NetworkNode).where(
        NetworkNode.via.in_([child.id for child in children])))
    return [_identity(node) for node in [*children, *further]]


async def beyond(session: AsyncSession, child: str) -> list[NodeIdentity]:
    """What this node tells `child`: every node it knows of but the child and those below
    it, itself included."""
    nodes: list[Node | NetworkNode] = list(await session.scalars(select(Node).where(
        (Node.is_local.is_(True)) | (Node.relation.isnot(None)), Node.id != child)))
    nodes += await session.scalars(select(NetworkNode).where(NetworkNode.via != child))
    return [_identity(node) for node in nodes]


async def learn(session: AsyncSession, *, via: str, nodes: list[NodeIdentity]) -> int:
    """Replace what `via` said before with `nodes`; nodes this node holds otherwise (itself,
    its neighbours, nodes another neighbour told of) are not taken from it. How many it
    holds through `via` now."""
    await session.execute(delete(NetworkNode).where(NetworkNode.via == via))
    held = set(await session.scalars(select(Node.id).where(
        (Node.is_local.is_(True)) | (Node.relation.isnot(None)))))
    held |= set(await session.scalars(select(NetworkNode.id)))
    taken = {node.node_id: node for node in nodes if node.node_id not in held}
    session.add_all(NetworkNode(id=node.node_id, name=node.name, tier=node.tier,
                                region_code=node.region_code, zone=node.zone, via=via)
                    for node in taken.values())
    return len(taken)


async def known(session: AsyncSession) -> list[KnownNode]:
    """Every node this node knows of, itself first, then its neighbours, then the rest."""
    linked = await session.scalars(select(Node).where(
        (Node.is_local.is_(True)) | (Node.relation.isnot(None)))
        .order_by(Node.is_local.desc(), Node.relation, Node.id))
    further = await session.scalars(select(NetworkNode).order_by(NetworkNode.id))
    return ([KnownNode(**_identity(node).model_dump(),
                       relation="self" if node.is_local else str(node.relation),
                       via=None if node.is_local else node.id) for node in linked]
            + [KnownNode(**_identity(node).model_dump(), relation="beyond", via=node.via)
               for node in further])


def _identity(node: Node | NetworkNode) -> NodeIdentity:
    return NodeIdentity(node_id=node.id, name=node.name, tier=Tier(node.tier),
                        region_code=node.region_code, zone=Zone(node.zone))
