"""The audit chain anchored outside the node's database (E5, G2).

The chain and its checkpoints live in this node's database, where an insider could rewrite
both consistently. So each sealed head (a checkpoint) goes where they cannot reach: to the
parent node, over the federation link with this node's token (the parent keeps it in its own
database and countersigns it with its node key), or, for a node with no parent, into an
append-only file of its own (`anchor_archive`). A job sends the checkpoints not yet anchored
in order; a parent that is down or refuses only delays anchoring, never sealing.

Verification fetches what the parent holds of this node's heads (and reads the archive) and
compares each with the chain: a chain rewritten in the database, checkpoints and all, no
longer has the hash the parent countersigned at that position.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange.anchor_archive import AnchorArchive, ArchiveBroken, ArchiveConflict
from services.exchange.models import AuditCheckpoint, AuditEntry
from shared import clock
from shared.contracts.anchoring import (
    AUDIT_ANCHOR_TYPE,
    AnchoredHead,
    AnchoredHeads,
    HeadsToAnchor,
    SealedHead,
)
from shared.db import transaction
from shared.linked_nodes import LinkedNodeDirectory, NodeTokens
from shared.runtime import jwks_from_url
from shared.tokens import KeySet, KeysUnavailable, StatementInvalid, verify_statement

log = logging.getLogger(__name__)

ANCHOR_PATH = "/federation/exchange/audit-anchors"
ARCHIVE = "archive"  # `anchored_by` of a head in the node's own archive
ANCHOR_LOCK = 0x6175_6469_7461  # pg advisory lock id of the anchoring job
MAX_BACKOFF_SECONDS = 60.0
PAGE = 1000  # heads asked of the parent at a time when verifying


class AnchorRefused(Exception):
    """The parent refused a head, or answered with something that is no countersignature."""


@dataclass
class Anchorer:
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    nodes: LinkedNodeDirectory
    tokens: NodeTokens
    archive: AnchorArchive
    node: str
    batch: int = 200
    last_error: str | None = field(default=None, init=False)  # this replica's last try
    _failures: int = field(default=0, init=False)
    _retry_at: float = field(default=0.0, init=False)
    _keys: dict[str, KeySet] = field(default_factory=dict, init=False)  # parents' keys

    async def run(self) -> int:
        """Anchor the next checkpoints; how many. A failure waits, doubling, to retry."""
        if time.monotonic() < self._retry_at:
            return 0
        try:
            parent = await self.nodes.parent()
        except (httpx.HTTPError, OSError, ValueError) as error:
            self._failed(error, None)
            return 0
        async with transaction(self.sessions) as session:
            # One replica anchors at a time, in chain order; the others find the lock taken.
            if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"),
                                        {"id": ANCHOR_LOCK}):
                return 0
            pending = list(await session.scalars(
                select(AuditCheckpoint).where(AuditCheckpoint.anchored_at.is_(None))
                .order_by(AuditCheckpoint.position).limit(self.batch)))
            if not pending:
                return 0
            heads = [SealedHead(position=checkpoint.position, hash=checkpoint.hash,
                                sealed_at=checkpoint.sealed_at) for checkpoint in pending]
            try:
                anchored_by, signatures = (
                    (parent["node_id"], await self._to_parent(parent, heads)) if parent
                    else (ARCHIVE, await asyncio.to_thread(self.archive.append, heads)))
            except (httpx.HTTPError, OSError, ValueError, AnchorRefused, ArchiveConflict,
                    ArchiveBroken, KeysUnavailable) as error:
                self._failed(error, parent)
                return 0
            now = clock.now()
            for checkpoint, signature in zip(pending, signatures, strict=True):
                checkpoint.anchored_at, checkpoint.anchored_by = now, anchored_by
                checkpoint.countersignature = signature
        self._failures, self._retry_at, self.last_error = 0, 0.0, None
        return len(pending)

    async def _to_parent(self, parent: dict[str, Any], heads: list[SealedHead]) -> list[str]:
        """The parent's countersignature of each head, each checked with its keys."""
        token = await self.tokens.for_node(parent["node_id"])
        response = await self.http.post(
            parent["gateway_url"] + ANCHOR_PATH,
            json=HeadsToAnchor(heads=heads).model_dump(mode="json"),
            headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 409:
            raise AnchorRefused(response.json().get("detail", "the parent refused a head"))
        response.raise_for_status()
        anchored = AnchoredHeads.model_validate(response.json()).heads
        if [(h.position, h.hash) for h in anchored] != [(h.position, h.hash) for h in heads]:
            raise AnchorRefused("the parent answered for other heads than those sent")
        for head in anchored:
            await self._check_countersignature(parent, head)
        return [head.countersignature for head in anchored]

    async def _check_countersignature(self, parent: dict[str, Any], head: AnchoredHead) -> None:
        keys = self._keys.get(parent["jwks_url"])
        if keys is None:
            keys = self._keys[parent["jwks_url"]] = KeySet(jwks_from_url(parent["jwks_url"]))
        try:
            statement = await verify_statement(head.countersignature, keys, AUDIT_ANCHOR_TYPE)
        except StatementInvalid as error:
            raise AnchorRefused(f"the countersignature is invalid: {error}") from error
        said = (statement.get("iss"), statement.get("node"), statement.get("position"),
                statement.get("hash"))
        if said != (parent["node_id"], self.node, head.position, head.hash):
            raise AnchorRefused("the countersignature is for another head")

    def _failed(self, error: Exception, parent: dict[str, Any] | None) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + min(2.0 ** self._failures, MAX_BACKOFF_SECONDS)
        self.last_error = f"{type(error).__name__}: {error}"[:500]
        log.error("audit heads were not anchored; will retry", extra={
            "anchor": parent["node_id"] if parent else ARCHIVE, "error": self.last_error})

    async def parent_heads(self, parent: dict[str, Any]) -> dict[int, str]:
        """Every head of this node's chain the parent holds, by position."""
        token = await self.tokens.for_node(parent["node_id"])
        held: dict[int, str] = {}
        after: int | None = 0
        while after is not None:
            response = await self.http.get(
                parent["gateway_url"] + ANCHOR_PATH, params={"after": after, "limit": PAGE},
                headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
            page = AnchoredHeads.model_validate(response.json())
            held.update((head.position, head.hash) for head in page.heads)
            after = page.next_after
        return held


@dataclass
class AnchorReport:
    """How the chain compares with the heads anchored outside the database."""

    parent: str | None
    archive: str | None
    checked: int = 0
    mismatches: int = 0
    first_mismatch_position: int | None = None
    last_anchored_position: int | None = None
    pending: int = 0
    error: str | None = None
    mismatch_anchor: str | None = field(default=None, repr=False)

    @property
    def reason(self) -> str | None:
        """Why the chain is not what was anchored; None when it is."""
        if not self.mismatches:
            return None
        return (f"the chain differs from the head {self.mismatch_anchor} holds at position "
                f"{self.first_mismatch_position} (the database was rewritten)")


async def compare(session: AsyncSession, anchorer: Anchorer) -> AnchorReport:
    """Compare the chain with the heads the parent holds and those in the archive."""
    try:
        parent = await anchorer.nodes.parent()
    except httpx.HTTPError as error:
        return AnchorReport(parent=None, archive=None,
                            error=f"the node's identity service did not answer: {error}")
    report = AnchorReport(parent=parent["node_id"] if parent else None, archive=None,
                          pending=await _unanchored(session))
    anchored: dict[int, tuple[str, str]] = {}  # position: hash, and who holds it
    try:
        archived = await asyncio.to_thread(anchorer.archive.heads)
    except ArchiveBroken as error:
        archived, report.error = {}, f"the anchor archive is broken: {error}"
    if archived:
        report.archive = str(anchorer.archive.path)
        anchored |= {position: (head.hash, "the anchor archive")
                     for position, head in archived.items()}
    if parent:
        try:
            held = await anchorer.parent_heads(parent)
        except (httpx.HTTPError, ValueError) as error:
            report.error = f"the parent's record could not be read: {error}"[:300]
        else:
            anchored |= {position: (digest, f"the parent {parent['node_id']}")
                         for position, digest in held.items()}
    if report.pending and anchorer.last_error and report.error is None:
        report.error = f"the last try to anchor failed: {anchorer.last_error}"
    await _check(session, anchored, report)
    return report


async def _check(session: AsyncSession, anchored: dict[int, tuple[str, str]],
                 report: AnchorReport) -> None:
    positions = sorted(anchored)
    report.checked = len(positions)
    report.last_anchored_position = positions[-1] if positions else None
    for start in range(0, len(positions), 5000):
        chunk = positions[start:start + 5000]
        chain = dict((await session.execute(
            select(AuditEntry.position, AuditEntry.hash)
            .where(AuditEntry.position.in_(chunk)))).all())
        for position in chunk:
            digest, anchor = anchored[position]
            if chain.get(position) != digest:
                report.mismatches += 1
                if report.first_mismatch_position is None:
                    report.first_mismatch_position, report.mismatch_anchor = position, anchor


async def _unanchored(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditCheckpoint).where(
        AuditCheckpoint.anchored_at.is_(None))) or 0)
