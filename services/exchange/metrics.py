"""The exchange's figures for Prometheus: accesses appended to the audit chain (E5), how
many still wait for the sealer to chain them, and sealed heads not yet anchored outside the
node's database."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.models import AuditCheckpoint, AuditEntry

audit_appends = Counter(
    "govshare_audit_appends",
    "Accesses this process appended to the audit chain (committed), by kind of access; "
    "denied ones included.", ["kind"])
audit_unsealed = Gauge(
    "govshare_audit_unsealed_entries",
    "Audit entries not yet chained and hashed by the sealer (all replicas).")
audit_unanchored = Gauge(
    "govshare_audit_unanchored_heads",
    "Sealed heads of the audit chain not yet anchored with the parent node (or in the "
    "anchor archive): growing, the parent is unreachable or refuses a head.")


async def measure(session: AsyncSession) -> None:
    audit_unsealed.set(await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.position.is_(None))) or 0)
    audit_unanchored.set(await session.scalar(
        select(func.count()).select_from(AuditCheckpoint)
        .where(AuditCheckpoint.anchored_at.is_(None))) or 0)
