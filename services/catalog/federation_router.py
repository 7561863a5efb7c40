"""F1 and F6 over HTTP: children push their catalog here, the parent what it aggregated
from the rest of the network; operators watch the flow.

`POST /federation/entries` is reached through the gateway's `/federation/catalog/entries`,
which linked nodes call with node tokens (checked here against the calling node's keys).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from services.catalog import federation
from services.catalog.deps import Overseer, SessionDep, SettingsDep
from services.catalog.federation import BatchResult, EntryBatch
from services.catalog.models import (
    FederatedEntry,
    FederationConflict,
    FederationCursor,
    FeedItem,
    LinkedNode,
)
from shared.auth import parse_bearer
from shared.pagination import Page, PageDep, fetch_page

router = APIRouter(prefix="/federation", tags=["federation"])


class PeerState(BaseModel):
    node_id: str
    relation: str
    zone: str
    gateway_url: str
    pushed_up_to: int | None = Field(None, description="Feed position this linked node has "
                                                       "taken (up to the parent, down to a "
                                                       "child).")
    pushed_at: str | None = None
    last_error: str | None = Field(None, description="Why the last push failed, if it did.")


class FederationState(BaseModel):
    feed_position: int = Field(description="Newest position of the feed this node passes "
                                           "on to its linked nodes.")
    peers: list[PeerState]
    aggregated_by_origin: dict[str, int] = Field(description="Entries held per origin node.")
    conflicts: int


class ConflictView(BaseModel):
    origin_node: str
    code: str
    version: int
    kept_hash: str
    discarded_hash: str
    from_node: str
    detected_at: str


@router.post("/entries", response_model=BatchResult)
async def receive_entries(batch: EntryBatch, request: Request, session: SessionDep,
                          settings: SettingsDep) -> BatchResult:
    """A linked node's catalog changes, in its feed's order: a child's own and what it
    aggregated (F1), or the parent's and what it aggregated from the rest of the network
    (F6); a repeated batch changes nothing."""
    token = parse_bearer(request.headers.get("authorization", ""))
    sender = await federation.calling_peer(session, request.app.state.node_tokens, token)
    return await federation.receive(session, batch, sender=sender,
                                    local_node=settings.node_id, local_zone=settings.node_zone)


@router.get("/status", response_model=FederationState)
async def federation_state(session: SessionDep, principal: Overseer) -> FederationState:
    """How far the catalog has flowed: the feed, each linked node, what is aggregated."""
    cursors = {cursor.node_id: cursor for cursor in await session.scalars(
        select(FederationCursor))}
    peers = []
    for node in await session.scalars(select(LinkedNode).order_by(LinkedNode.node_id)):
        cursor = cursors.get(node.node_id)
        peers.append(PeerState(
            node_id=node.node_id, relation=node.relation, zone=node.zone,
            gateway_url=node.gateway_url, pushed_up_to=cursor.last_seq if cursor else None,
            pushed_at=cursor.pushed_at.isoformat() if cursor and cursor.pushed_at else None,
            last_error=cursor.last_error if cursor else None))
    by_origin = dict((await session.execute(
        select(FederatedEntry.origin_node, func.count()).group_by(FederatedEntry.origin_node)
    )).all())
    return FederationState(
        feed_position=int(await session.scalar(select(func.max(FeedItem.seq))) or 0),
        peers=peers, aggregated_by_origin=by_origin,
        conflicts=int(await session.scalar(select(func.count()).select_from(
            FederationConflict)) or 0))


@router.get("/conflicts", response_model=Page[ConflictView])
async def list_conflicts(session: SessionDep, principal: Overseer,
                         page: PageDep) -> dict[str, object]:
    """Entry versions that arrived with two contents, and which one was kept (F4)."""
    rows, total = await fetch_page(session, select(FederationConflict).order_by(
        FederationConflict.id.desc()), page)
    return page.wrap([ConflictView(
        origin_node=row.origin_node, code=row.code, version=row.version,
        kept_hash=row.kept_hash, discarded_hash=row.discarded_hash, from_node=row.from_node,
        detected_at=row.detected_at.isoformat()) for row in rows], total)
