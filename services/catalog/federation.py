"""Catalogs flow up (F1) and down (F6), never across a zone boundary (F3), and resume
without loss (F4).

Every published, updated or withdrawn entry, this node's own or one a linked node sent, goes
into `federation_feed` in the transaction of the change, with the path of nodes it came
through. A job pushes the feed to every linked node, the parent and each child, from a
cursor of its own that moves only when that node has taken a batch: a node that was down or
cut off resumes where it stopped, and a batch sent twice changes nothing because the
receiver applies an entry only when its version is newer. An entry never goes to a node on
its path, so it travels the tree once: up to the national node, and from every node down to
the children it did not come from. Two different contents of one version (an origin
restored from a backup, say) resolve by content hash, the same way on every node, and the
discarded one is kept in `federation_conflict` for the operators.

Transport: signed HTTP between gateways (docs/federation.md says why).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.catalog.models import (
    Department,
    FederatedEntry,
    FederationConflict,
    FederationCursor,
    FederationReceipt,
    FeedItem,
    LinkedNode,
)
from services.catalog.search_text import search_vector
from shared.contracts import NodeRelation, Zone
from shared.contracts.catalog import EntrySnapshot
from shared.db import transaction
from shared.linked_nodes import LinkedNodeTokens, NodeTokens

log = logging.getLogger(__name__)

PUSH_PATH = "/federation/catalog/entries"


class AggregatedEntry(BaseModel):
    """One entry as it travels the tree, with where it came from."""

    entry: EntrySnapshot = Field(description="The snapshot; `entry.node` is its origin.")
    provider_tier: str = Field(description="Tier of the providing department.")
    provider_region: str = Field(description="Region code of the providing department.")
    classified: bool = Field(description="Internal-only (涉密): never sent to an external "
                                         "node (F3).")
    path: list[str] = Field(min_length=1, description="Nodes it passed, origin first.")


class EntryBatch(BaseModel):
    entries: list[AggregatedEntry] = Field(max_length=1000)


class BatchResult(BaseModel):
    applied: int = Field(description="Entries new here or newer than what was held.")
    unchanged: int = Field(description="Already held at this version or a newer one.")
    conflicts: int = Field(description="A different content for a version already held.")
    refused: int = Field(description="Internal-only entries sent to an external node.")


# --- the feed: what this node passes on ----------------------------------------------------


async def feed_local_change(session: AsyncSession, snapshot: EntrySnapshot) -> None:
    """Queue a change of one of this node's published entries for the linked nodes."""
    department = await session.get(Department, snapshot.provider)
    session.add(_feed_item(AggregatedEntry(
        entry=snapshot, provider_tier=department.tier if department else "",
        provider_region=department.region_code if department else "",
        classified=snapshot.classified, path=[snapshot.node])))


def _feed_item(item: AggregatedEntry) -> FeedItem:
    return FeedItem(origin_node=item.entry.node, code=item.entry.code,
                    version=item.entry.version, classified=item.classified,
                    payload=item.model_dump(mode="json"))


# --- receiving from a linked node ----------------------------------------------------------


async def receive(session: AsyncSession, batch: EntryBatch, *, sender: LinkedNode,
                  local_node: str, local_zone: Zone) -> BatchResult:
    """Apply a linked node's batch: newer versions win, repeats change nothing, and what is
    applied is queued to go on, this node added to its path."""
    session.add(FederationReceipt(from_node=sender.node_id,
                                  payload=batch.model_dump(mode="json")))
    result = BatchResult(applied=0, unchanged=0, conflicts=0, refused=0)
    for item in batch.entries:
        if item.classified and local_zone == Zone.external:
            log.error("an internal-only entry was sent to this external node; refused",
                      extra={"from_node": sender.node_id, "code": item.entry.code})
            result.refused += 1
            continue
        if item.entry.node == local_node or local_node in item.path:
            result.unchanged += 1  # its own, or one that passed here already
            continue
        outcome, stored = await _apply(session, item, sender.node_id)
        setattr(result, outcome, getattr(result, outcome) + 1)
        if stored:
            forwarded = item.model_copy(update={"path": [*item.path, local_node]})
            session.add(_feed_item(forwarded))
    return result


def content_hash(entry: EntrySnapshot) -> str:
    canonical = json.dumps(entry.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _apply(session: AsyncSession, item: AggregatedEntry,
                 sender: str) -> tuple[str, bool]:
    """How the item counts, and whether it is now the held content."""
    entry, digest = item.entry, content_hash(item.entry)
    held = await session.get(FederatedEntry, (entry.node, entry.code), with_for_update=True)
    if held is not None and held.version > entry.version:
        return "unchanged", False
    if held is not None and held.version == entry.version:
        if held.content_hash == digest:
            return "unchanged", False
        # Same version, other content: the greater hash wins, on every node alike.
        kept, discarded = max(digest, held.content_hash), min(digest, held.content_hash)
        if await _already_discarded(session, entry, discarded):
            return "unchanged", False  # the losing content, delivered again
        session.add(FederationConflict(
            origin_node=entry.node, code=entry.code, version=entry.version, kept_hash=kept,
            discarded_hash=discarded, from_node=sender,
            discarded=held.snapshot if kept == digest else entry.model_dump(mode="json")))
        log.warning("two contents for one entry version; resolved by hash", extra={
            "origin_node": entry.node, "code": entry.code, "version": entry.version})
        if kept != digest:
            return "conflicts", False
        await _store(session, item, digest, sender)
        return "conflicts", True
    await _store(session, item, digest, sender)
    return "applied", True


async def _already_discarded(session: AsyncSession, entry: EntrySnapshot, digest: str) -> bool:
    return await session.scalar(select(FederationConflict.id).where(
        FederationConflict.origin_node == entry.node, FederationConflict.code == entry.code,
        FederationConflict.version == entry.version,
        FederationConflict.discarded_hash == digest).limit(1)) is not None


async def _store(session: AsyncSession, item: AggregatedEntry, digest: str, sender: str) -> None:
    entry = item.entry
    values: dict[str, Any] = {
        "origin_node": entry.node, "code": entry.code, "origin_tier": item.provider_tier,
        "origin_region": item.provider_region, "path": item.path, "provider": entry.provider,
        "name": entry.name, "status": entry.status, "version": entry.version,
        "content_hash": digest, "snapshot": entry.model_dump(mode="json"),
        "published_at": entry.published_at, "received_from": sender,
        "received_at": datetime.now(UTC), "top_class": entry.classification.top,
        "share_type": entry.share.type,
        "share_methods": [str(method) for method in entry.share.methods],
        "search_vector": search_vector(
            name=entry.name, classification=entry.classification.model_dump(),
            items=(info.name for info in entry.items), abstract=entry.abstract),
    }
    await session.execute(insert(FederatedEntry).values(**values).on_conflict_do_update(
        index_elements=[FederatedEntry.origin_node, FederatedEntry.code], set_=values))


# --- pushing to the linked nodes ---------------------------------------------------------


@dataclass
class Pusher:
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    tokens: NodeTokens
    batch_size: int = 200

    async def push(self) -> int:
        """Send the next batch of the feed to each linked node: up to the parent (F1), down
        to each child (F6); how many entries they took."""
        async with self.sessions() as session:
            peers = list(await session.scalars(select(LinkedNode).order_by(
                LinkedNode.relation != NodeRelation.parent, LinkedNode.node_id)))
        return sum([await self.push_to(peer) for peer in peers])

    async def push_to(self, peer: LinkedNode) -> int:
        """Send `peer` the next batch of the feed it has not taken; how many entries went."""
        async with transaction(self.sessions) as session:
            # One replica pushes to a node at a time; the others find the lock taken and skip.
            if not await session.scalar(text("select pg_try_advisory_xact_lock(:key)"),
                                        {"key": _lock_key(peer.node_id)}):
                return 0
            cursor = await session.get(FederationCursor, peer.node_id) or FederationCursor(
                node_id=peer.node_id, last_seq=0)
            session.add(cursor)
            items = list(await session.scalars(
                select(FeedItem).where(FeedItem.seq > cursor.last_seq)
                .order_by(FeedItem.seq).limit(self.batch_size)))
            if not items:
                return 0
            sendable = [item.payload for item in items if _goes_to(item, peer)]
            try:
                if sendable:
                    await self._send(peer, sendable)
            except (httpx.HTTPError, OSError) as error:
                cursor.last_error = f"{type(error).__name__}: {error}"[:2000]
                log.warning("pushing the catalog to a linked node failed; will resume",
                            extra={"peer": peer.node_id, "relation": peer.relation,
                                   "error": cursor.last_error})
                return 0
            cursor.last_seq, cursor.pushed_at, cursor.last_error = (
                items[-1].seq, datetime.now(UTC), None)
            return len(sendable)

    async def _send(self, peer: LinkedNode, entries: list[dict[str, Any]]) -> None:
        token = await self.tokens.for_node(peer.node_id)
        response = await self.http.post(peer.gateway_url + PUSH_PATH,
                                         json={"entries": entries},
                                         headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()


def _goes_to(item: FeedItem, peer: LinkedNode) -> bool:
    """Whether the change goes to `peer`: never back to a node it came through, and, F3,
    nothing internal-only to an external-zone node, whatever the path."""
    return (peer.node_id not in item.payload["path"]
            and not (item.classified and peer.zone == Zone.external))


def _lock_key(node_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"federation-push:{node_id}".encode()).digest()[:7])


# --- who is calling: node tokens of linked nodes -------------------------------------------


async def calling_peer(session: AsyncSession, tokens: LinkedNodeTokens,
                       token: str) -> LinkedNode:
    """The linked node, parent or child, whose node token this is (401/403 otherwise)."""

    async def jwks_of_linked(node_id: str) -> str | None:
        node = await session.get(LinkedNode, node_id)
        return node.jwks_url if node else None

    claims = await tokens.verify(token, jwks_of_linked)
    node = await session.get(LinkedNode, claims.iss)
    assert node is not None
    return node
