"""The authorization service's figures for Prometheus: requests by state (the overdue ones
count against their providers, A4) and grants by state. Read from the database at scrape."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.models import Grant, ShareRequest
from shared.contracts.sharing import GrantStatus, RequestStatus
from shared.metrics import count_by_state

share_requests = Gauge(
    "govshare_share_requests",
    "Sharing requests of this node by state; state=\"overdue\": unanswered past the 10 "
    "working days (all replicas report the same figure).", ["status"])
grants = Gauge(
    "govshare_grants", "Grants of this node by state; state=\"active\" are usable now.",
    ["status"])


async def measure(session: AsyncSession) -> None:
    await count_by_state(session, ShareRequest.status, share_requests, RequestStatus)
    await count_by_state(session, Grant.status, grants, GrantStatus)
