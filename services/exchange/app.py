"""App factory of the exchange service.

Run with `uvicorn services.exchange.app:create_app --factory`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import ASGIApp

from services.exchange import (
    anchor_router,
    audit,
    audit_anchor,
    audit_router,
    freshness,
    handlers,
    internal_router,
    loading,
    metrics,
    objections_router,
    open_data_router,
    quality_router,
    records_router,
    subscriptions_router,
)
from services.exchange.anchor_archive import AnchorArchive
from services.exchange.anchored_heads import Countersigner
from services.exchange.fast_path import ROUTE_TEMPLATE, QueryFastPath, is_query
from services.exchange.gate import Gate
from services.exchange.ingest_auth import IngestGate
from services.exchange.query import DriverPool, EntryShapes, QueryService
from services.exchange.settings import ExchangeSettings
from services.exchange.source_apis import SourceApiCaller, reseal_credentials
from services.exchange.subject_keys import SubjectKeys, load_secret
from services.exchange.subscriptions import DeliveryTopics, Dispatcher
from shared import clock
from shared.db import driver_dsn, transaction
from shared.linked_nodes import LinkedNodeDirectory, LinkedNodeTokens, NodeTokens
from shared.runtime import ServiceRuntime, create_service_app, jwks_from_url
from shared.telemetry import http_client
from shared.tokens import KeySet, TokenVerifier
from shared.web import RequestTelemetry, RouteAhead, UnexpectedErrors

SERVICE = "exchange"
MIGRATIONS = Path(__file__).parent / "migrations"
CUT_LOADS_SECONDS = 30.0


def create_app(settings: ExchangeSettings | None = None) -> ASGIApp:
    settings = settings or ExchangeSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations_dir=MIGRATIONS)
    outbox = runtime.outbox
    # Its own key set, impatient: made-up key ids on the topic must not stall the consumer.
    senders = TokenVerifier(KeySet(jwks_from_url(settings.jwks_url), patient=False))
    runtime.consume(handlers.with_ingest(IngestGate(
        senders, settings.node_id, settings.ingest_proof_max_age_seconds)))
    http = http_client(timeout=settings.source_api_timeout_seconds)
    runtime.close_on_stop(http.aclose)
    topics = DeliveryTopics(runtime.producer, runtime.probe)
    nodes = LinkedNodeDirectory(http, settings.identity_service_url)
    node_tokens = NodeTokens(http, settings.identity_service_url)
    dispatcher = Dispatcher(
        sessions=runtime.sessions, topics=topics,
        http=http_client(timeout=settings.webhook_timeout_seconds),
        node=settings.node_id, batch=settings.delivery_batch,
        max_backoff=settings.webhook_max_backoff_seconds,
        idle=settings.delivery_interval_seconds, node_tokens=node_tokens)
    runtime.close_on_stop(dispatcher.http.aclose)
    runtime.every(settings.audit_seal_interval_seconds, "audit-seal",
                  lambda: audit.seal(runtime.sessions, outbox))
    anchorer = audit_anchor.Anchorer(
        sessions=runtime.sessions, http=http, nodes=nodes, tokens=node_tokens,
        archive=AnchorArchive(settings.anchor_file, settings.node_id), node=settings.node_id)
    runtime.every(settings.audit_anchor_interval_seconds, "audit-anchor", anchorer.run)
    runtime.every(settings.delivery_interval_seconds, "deliveries",
                  _when_kafka_ready(runtime, dispatcher.run_due))
    runtime.every(settings.freshness_interval_seconds, "freshness", _freshness(runtime))
    # At start (its first run), then now and then for loads whose replica died elsewhere.
    runtime.every(CUT_LOADS_SECONDS, "cut-loads",
                  lambda: loading.close_cut_loads(runtime.sessions, outbox))
    runtime.every(3600, "reseal-credentials", _resealer(runtime))
    runtime.measure_on_scrape(metrics.measure)
    pool = DriverPool(driver_dsn(settings.database_url), SERVICE)
    queries = QueryService(
        shapes=EntryShapes(runtime.sessions), pool=pool,
        gate=Gate(runtime.sessions, settings.node_id),
        sources=SourceApiCaller(http, settings.source_api_allowed_networks),
        audit=audit.GroupWriter(pool.pool, settings.node_id),
        subject_keys=SubjectKeys(load_secret(
            settings.audit_key_secret.get_secret_value() if settings.audit_key_secret else None,
            settings.generated_audit_key)))
    app = create_service_app(
        title="govshare exchange",
        description="The data path (交换): providers load the front-end store (前置机) or "
                    "register their own API; consumers query online, download in bulk and "
                    "subscribe, each access decided by its grant and sealed into the audit "
                    "chain; objections, freshness and cross-checks (requirements §5).",
        runtime=runtime,
        routers=[records_router.router, subscriptions_router.router, audit_router.router,
                 objections_router.router, objections_router.feedback_router,
                 quality_router.router, internal_router.router,
                 internal_router.federation_router, anchor_router.router,
                 anchor_router.federation_router, open_data_router.router],
    )
    app.state.gate = queries.gate
    app.state.open_data_streams = asyncio.Semaphore(settings.open_data_streams)
    app.state.delivery_topics, app.state.linked_nodes = topics, nodes
    app.state.webhooks = dispatcher.http
    app.state.node_tokens = LinkedNodeTokens(settings.node_id)
    app.state.anchorer = anchorer
    app.state.countersigner = Countersigner(http, settings.identity_service_url)
    app.state.queries = queries
    runtime.close_on_stop(queries.pool.close)
    fast_query = RequestTelemetry(UnexpectedErrors(QueryFastPath(queries=queries,
                                                                 verifier=runtime.verifier)),
                                  route=ROUTE_TEMPLATE)
    return RouteAhead(app, matches=is_query, handler=fast_query)


def _when_kafka_ready(runtime: ServiceRuntime,
                      job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return await job() if runtime.kafka_ready else None

    return run


def _freshness(runtime: ServiceRuntime) -> Callable[[], Awaitable[int]]:
    async def check() -> int:
        async with transaction(runtime.sessions) as session:
            return await freshness.sweep(session, runtime.outbox, clock.now())

    return check


def _resealer(runtime: ServiceRuntime) -> Callable[[], Awaitable[int]]:
    """At start (and hourly): credentials sealed under a KEK rotated out of first place are
    sealed under the current one."""

    async def reseal() -> int:
        async with transaction(runtime.sessions) as session:
            return await reseal_credentials(session)

    return reseal
