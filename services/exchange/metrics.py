"""The exchange's figures for Prometheus: accesses appended to the audit chain (E5), and
how many still wait for the sealer to chain them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.models import AuditEntry

audit_appends = Counter(
    "govshare_audit_appends",
    "Accesses this process appended to the audit chain (committed), by kind of access; "
    "denied ones included.", ["kind"])
audit_unsealed = Gauge(
    "govshare_audit_unsealed_entries",
    "Audit entries not yet chained and hashed by the sealer (all replicas).")


async def measure(session: AsyncSession) -> None:
    audit_unsealed.set(await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.position.is_(None))) or 0)
