"""The catalog's figures for Prometheus: entries by state, and the feed not yet passed to
the parent node (F1; it grows while the parent is unreachable)."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Entry, FederationCursor, FeedItem, LinkedNode
from shared.contracts.catalog import EntryStatus
from shared.contracts.identity import NodeRelation
from shared.metrics import count_by_state

catalog_entries = Gauge(
    "govshare_catalog_entries", "This node's catalog entries by state.", ["status"])
feed_unsent = Gauge(
    "govshare_federation_feed_unsent_entries",
    "Catalog changes waiting to be pushed to the parent node; 0 without a parent.")


async def measure(session: AsyncSession) -> None:
    await count_by_state(session, Entry.status, catalog_entries, EntryStatus)
    parent = await session.scalar(select(LinkedNode.node_id).where(
        LinkedNode.relation == NodeRelation.parent))
    if parent is None:
        feed_unsent.set(0)
        return
    pushed = await session.scalar(select(FederationCursor.last_seq).where(
        FederationCursor.node_id == parent)) or 0
    feed_unsent.set(await session.scalar(select(func.count()).select_from(FeedItem).where(
        FeedItem.seq > pushed)) or 0)
