"""Prometheus metrics every process of a node exposes at `/metrics`.

One component runs per process, so the process's default registry is the component's. A
service's own business figures (requests overdue, grants, audit appends) live beside the
service's code; the ones read from the database are refreshed when Prometheus scrapes, so
every replica reports the same value: aggregate them with max(), not sum().
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

# From a millisecond (the online query) to a minute (a large download's last byte).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)

http_request_duration = Histogram(
    "govshare_http_request_duration_seconds",
    "Time from a call's arrival to its response's last byte; its _count is the request rate.",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)
http_requests_in_flight = Gauge(
    "govshare_http_requests_in_flight", "Calls being answered right now.")

outbox_backlog = Gauge(
    "govshare_outbox_backlog_events",
    "Events committed to the outbox and not yet published to Kafka (all replicas).")
outbox_oldest_unpublished = Gauge(
    "govshare_outbox_oldest_unpublished_seconds",
    "Age of the oldest event waiting in the outbox; 0 when it is empty.")
outbox_published = Counter(
    "govshare_outbox_published_events", "Events this process published to Kafka.")

consumer_lag = Gauge(
    "govshare_consumer_lag_events",
    "Events in a partition after the last one this process applied (from the broker's "
    "high watermark).", ["group", "topic", "partition"])
consumer_events = Counter(
    "govshare_consumer_events",
    "Events handled by a consumer group, by outcome: applied, duplicate (already applied, "
    "a redelivery), dead_lettered (an envelope or payload off its contract, set aside on "
    "the group's dead-letter topic).", ["group", "type", "outcome"])
consumer_retries = Counter(
    "govshare_consumer_handler_retries", "Handler failures that are being retried.", ["group"])
consumer_failing = Gauge(
    "govshare_consumer_handler_failures_in_a_row",
    "Times in a row the handler of the event a group is applying has failed (0 when it "
    "applies); the group's partition waits behind that event.", ["group"])

scrape_refresh_failed = Gauge(
    "govshare_metrics_refresh_failed",
    "1 when the figures read from the database could not be refreshed at the last scrape "
    "(they show their previous values).")

dependency_up = Gauge(
    "govshare_dependency_up",
    "1 when this process reached the dependency (database, broker; for the gateway also each "
    "service) at its last health check or scrape, 0 when it did not.", ["dependency"])

Refresh = Callable[[], Awaitable[None]]


async def render(refreshes: list[Refresh], timeout_seconds: float = 5.0) -> bytes:
    """The exposition text, after bringing the database figures up to date."""
    try:
        async with asyncio.timeout(timeout_seconds):
            for refresh in refreshes:
                await refresh()
        scrape_refresh_failed.set(0)
    except Exception as error:  # a scrape must answer even when the database does not
        log.warning("metrics refresh failed", extra={"error": repr(error)})
        scrape_refresh_failed.set(1)
    return generate_latest()


CONTENT_TYPE = CONTENT_TYPE_LATEST


async def count_by_state(session: AsyncSession, state_column: Any, gauge: Gauge,
                         states: Iterable[StrEnum]) -> None:
    """Set `gauge{status=…}` to the rows in each state; every state, zeros included, so a
    cleared backlog reads 0 rather than its last value."""
    counts = dict((await session.execute(
        select(state_column, func.count()).group_by(state_column))).all())
    for state in states:
        gauge.labels(state.value).set(counts.get(state.value, 0))
