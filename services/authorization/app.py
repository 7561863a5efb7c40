"""App factory of the authorization service.

Run with `uvicorn services.authorization.app:create_app --factory`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.authorization import (
    agreements,
    agreements_router,
    arbitration_router,
    federation,
    federation_router,
    grants,
    grants_router,
    handlers,
    metrics,
    report_signing,
    requests,
    requests_router,
    router,
    security_router,
    staff_router,
    token_router,
)
from services.authorization.enforcement import ExchangeView
from services.authorization.node_keys import published_jwks, reseal_signing_keys
from services.authorization.settings import AuthorizationSettings
from shared import clock
from shared.db import transaction
from shared.linked_nodes import LinkedNodeTokens
from shared.runtime import ServiceRuntime, create_service_app
from shared.telemetry import http_client
from shared.tokens import JwksLoader

SERVICE = "authorization"
MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)


def create_app(settings: AuthorizationSettings | None = None) -> FastAPI:
    settings = settings or AuthorizationSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations_dir=MIGRATIONS)
    # This service owns the keys, so it verifies tokens from its own table, not over HTTP.
    runtime.verify_tokens_with(_own_jwks(runtime, settings))
    runtime.consume(handlers.handlers)
    runtime.every(settings.sweep_interval_seconds, "deadline-sweep", _sweeper(runtime))
    runtime.every(3600, "reseal-signing-keys", _resealer(runtime))
    peers = http_client(timeout=10.0)
    runtime.close_on_stop(peers.aclose)
    runtime.every(settings.network_exchange_seconds, "network-exchange",
                  _network_exchange(runtime, peers, settings.token_ttl_seconds))
    runtime.measure_on_scrape(metrics.measure)
    app = create_service_app(
        title="govshare authorization",
        description="Identity of the node: departments, systems' clients, staff users, "
                    "tokens and keys (requirements §1, A7, G1, G2); and the sharing workflow: "
                    "requests, answers within the deadline, negotiation and arbitration, "
                    "grants and confidentiality agreements (requirements §4).",
        runtime=runtime,
        routers=[token_router.router, router.router, staff_router.router,
                 security_router.router, requests_router.router,
                 grants_router.router, agreements_router.router, arbitration_router.router,
                 federation_router.router, report_signing.router],
    )
    app.state.linked_node_tokens = LinkedNodeTokens(settings.node_id)
    exchange = http_client(timeout=2.0)
    runtime.close_on_stop(exchange.aclose)
    app.state.exchange_view = ExchangeView(settings.services["exchange"], exchange,
                                           within=settings.in_force_within_seconds)
    return app


def _sweeper(runtime: ServiceRuntime) -> Callable[[], Awaitable[None]]:
    """Overdue requests (A4), expired grants (A5) and lapsed confidentiality agreements (A6)
    change state by themselves."""

    async def sweep() -> None:
        async with transaction(runtime.sessions) as session:
            await requests.mark_overdue(session, runtime.outbox, clock.now())
        async with transaction(runtime.sessions) as session:
            await grants.expire_due(session, runtime.outbox, clock.now())
        async with transaction(runtime.sessions) as session:
            await agreements.lapse_due(session, runtime.outbox, clock.now())

    return sweep


def _network_exchange(runtime: ServiceRuntime, http: httpx.AsyncClient,
                      ttl_seconds: int) -> Callable[[], Awaitable[None]]:
    """The tree, learned along the links (F5): what is below goes up, what is beyond comes
    back. A parent that does not answer leaves what was learned before in place."""

    async def exchange() -> None:
        async with transaction(runtime.sessions) as session:
            await federation.tell_parent(session, http, ttl_seconds)

    return exchange


def _resealer(runtime: ServiceRuntime) -> Callable[[], Awaitable[None]]:
    """At start (and hourly): keys sealed under a KEK rotated out of first place are sealed
    under the current one (keys an older version kept in plain were sealed by migration
    0008)."""

    async def reseal() -> None:
        async with transaction(runtime.sessions) as session:
            if resealed := await reseal_signing_keys(session):
                log.warning("signing keys sealed under the current key-encryption key",
                            extra={"keys": resealed})

    return reseal


def _own_jwks(runtime: ServiceRuntime, settings: AuthorizationSettings) -> JwksLoader:
    async def load() -> dict[str, Any]:
        async with runtime.sessions() as session:
            grace = timedelta(seconds=settings.retired_key_grace_seconds)
            return await published_jwks(session, grace)

    return load
