"""The moving parts every backend service runs: engine, migrations, relay, consumers, verifier.

A service's app factory builds a ServiceRuntime and hands it to `create_service_app`, which
starts it in the lifespan and stops it on shutdown. Kafka parts start in the background and
keep retrying, so the HTTP API accepts writes (into the outbox) while the broker is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock, sealing
from shared.consumer import IdempotentConsumer, SessionHook, cancelled_from_outside
from shared.db import create_engine, create_session_factory, ping
from shared.handlers import Handlers
from shared.health import (
    LIVE_RESPONSES,
    READY_RESPONSES,
    REPORT_RESPONSES,
    HealthCheck,
    alive,
    check_dependencies,
    keys_loaded,
    report_response,
    run_checks,
)
from shared.kafka import BrokerProbe, create_producer
from shared.logs import configure_logging
from shared.metrics import CONTENT_TYPE, Refresh, render
from shared.migrations import upgrade_to_head
from shared.outbox import Outbox, OutboxRelay, measure_backlog
from shared.problems import install_problem_handlers
from shared.settings import ComponentSettings, ServiceSettings
from shared.telemetry import configure_tracing, shutdown_tracing
from shared.tokens import JwksLoader, KeySet, TokenVerifier
from shared.web import (
    FASTAPI_TELEMETRY_OFF,
    BodyGuardMiddleware,
    RequestTelemetry,
    UnexpectedErrors,
)

log = logging.getLogger(__name__)


def jwks_from_url(url: str) -> JwksLoader:
    """A JWKS loader that fetches the node's published keys over HTTP."""

    async def load() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()

    return load


class ServiceRuntime:
    """Owns one service's database engine, outbox relay, consumers and token verifier."""

    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        migrations_dir: Path,
        jwks_loader: JwksLoader | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.engine = create_engine(settings.database_url, schema=name)
        self.sessions = create_session_factory(self.engine)
        self.outbox = Outbox(node=settings.node_id, service=name)
        self.verifier = TokenVerifier(KeySet(jwks_loader or jwks_from_url(settings.jwks_url)))
        bootstrap, security = settings.kafka_bootstrap_servers, settings.kafka_security
        self.producer = create_producer(bootstrap, f"{name}-relay", security)
        self.probe = BrokerProbe(bootstrap, f"{name}-probe", security)
        self.consumer: IdempotentConsumer | None = None
        self._jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []
        self._closers: list[Callable[[], Awaitable[object]]] = []
        self._checks: dict[str, HealthCheck] = {}
        self.metric_refreshes: list[Refresh] = []
        self.measure_on_scrape(measure_backlog)
        self._tasks: list[asyncio.Task[None]] = []
        self._kafka_ready = asyncio.Event()

    def consume(self, handlers: Handlers, on_new_log: SessionHook | None = None) -> None:
        """Apply the events `handlers` registers, each once (handlers get the outbox);
        `on_new_log` hears of a broker log that lacks what the model already applied."""
        self.consumer = IdempotentConsumer(
            name=self.name, handlers=handlers, sessions=self.sessions, outbox=self.outbox,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            security=self.settings.kafka_security, producer=self.producer,
            probe=self.probe, on_new_log=on_new_log)

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` every `seconds` while the service runs; a failure is logged and retried
        at the next tick. Jobs must be safe to run on several replicas at once."""
        self._jobs.append((name, seconds, job))

    def measure_on_scrape(self, refresh: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Set gauges from the database with `refresh` each time `/metrics` is read."""

        async def run() -> None:
            async with self.sessions() as session:
                await refresh(session)

        self.metric_refreshes.append(run)

    def verify_tokens_with(self, loader: JwksLoader) -> None:
        """Use `loader` for the token verifier's keys (the key owner reads its own table)."""
        self.verifier = TokenVerifier(KeySet(loader))

    def close_on_stop(self, close: Callable[[], Awaitable[object]]) -> None:
        """Call `close` when the service stops (clients the app holds, for instance)."""
        self._closers.append(close)

    def check_also(self, name: str, check: HealthCheck) -> None:
        """Report `check` under `name` in the health, beside the database and the broker."""
        self._checks[name] = check

    @property
    def kafka_ready(self) -> bool:
        """The producer and the probe are connected (jobs that produce wait for it)."""
        return self._kafka_ready.is_set()

    async def start(self) -> None:
        """Install the node's clock, migrate the schema, then start the Kafka parts in the
        background."""
        clock.install_from(self.settings.clock_file)
        kek = self.settings.kek
        sealing.install_from(kek.get_secret_value() if kek else None)
        await upgrade_to_head(self.engine, self.name, self.migrations_dir)
        self._tasks.append(asyncio.create_task(self._run_kafka(), name=f"{self.name}-kafka"))
        for name, seconds, job in self._jobs:
            self._tasks.append(asyncio.create_task(_run_periodically(name, seconds, job),
                                                   name=f"{self.name}-{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for close in self._closers:
            with contextlib.suppress(Exception):
                await close()
        await self.engine.dispose()

    async def _run_kafka(self) -> None:
        await _retry_forever(self.producer.start, "producer")
        await _retry_forever(self.probe.start, "broker probe")
        self._kafka_ready.set()
        relay = OutboxRelay(
            sessions=self.sessions, producer=self.producer, probe=self.probe, service=self.name,
            poll_seconds=self.settings.outbox_poll_seconds,
            retention=timedelta(hours=self.settings.outbox_retention_hours),
        )
        work = [keep_running("outbox relay", relay.run)]
        if self.consumer:
            work.append(keep_running("consumer", self.consumer.run))
        try:
            await asyncio.gather(*work)
        finally:
            await self.producer.stop()
            await self.probe.stop()

    async def broker_health(self) -> dict[str, Any]:
        if not self._kafka_ready.is_set():
            raise RuntimeError("not connected yet")
        return await self.probe.cluster_info()

    async def health(self) -> dict[str, Any]:
        """The database and the broker, each reached now (bounded): what `/health` reports
        and `govshare_dependency_up` shows."""
        return await check_dependencies({
            "database": lambda: ping(self.engine),
            "broker": self.broker_health,
            **self._checks,
        })

    async def readiness(self) -> dict[str, Any]:
        """Whether this process can serve (`/health/ready`): it started (it answers at all
        only then: the schema was migrated, the pool opened) and holds the keys that verify
        tokens. The database and the broker are every replica's: see `shared.health`."""
        return await run_checks({"keys": keys_loaded(self.verifier)})


class LightRuntime:
    """The runtime of a component that keeps no data and reads no broker (the portal): what
    it must close when it stops, and the parts of the node its health reaches."""

    def __init__(self, *, name: str, settings: ComponentSettings,
                 checks: dict[str, HealthCheck] | None = None) -> None:
        self.name = name
        self.settings = settings
        self.checks = checks or {}
        self.verifier: TokenVerifier | None = None  # it calls the API, which verifies
        self.metric_refreshes: list[Refresh] = []
        self._closers: list[Callable[[], Awaitable[object]]] = []

    def close_on_stop(self, close: Callable[[], Awaitable[object]]) -> None:
        """Call `close` when the component stops (clients the app holds, for instance)."""
        self._closers.append(close)

    async def start(self) -> None:
        """Nothing to migrate or connect: the component answers at once."""

    async def stop(self) -> None:
        for close in self._closers:
            with contextlib.suppress(Exception):
                await close()

    async def health(self) -> dict[str, Any]:
        """The parts `checks` names, each reached now (bounded)."""
        return await check_dependencies(self.checks)

    async def readiness(self) -> dict[str, Any]:
        """Started is ready: it verifies no token and keeps no connection of its own."""
        return await run_checks({})


class Runtime(Protocol):
    """What `create_service_app` runs: a ServiceRuntime, or a LightRuntime."""

    name: str
    metric_refreshes: list[Refresh]

    @property
    def settings(self) -> ComponentSettings: ...

    @property
    def verifier(self) -> TokenVerifier | None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> dict[str, Any]: ...

    async def readiness(self) -> dict[str, Any]: ...


async def _run_periodically(name: str, seconds: float,
                            job: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await job()
        except Exception:
            log.exception("scheduled job failed", extra={"job": name})
        await asyncio.sleep(seconds)


async def keep_running(part: str, run: Callable[[], Awaitable[None]]) -> None:
    """A part that runs as long as the service does: should it ever end, it is logged, as
    an error, and started again (a consumer that ended in silence once left the service up
    and applying nothing)."""
    while True:
        try:
            await run()
            log.error("a part of the service ended; starting it again", extra={"part": part})
        except asyncio.CancelledError:
            if cancelled_from_outside():
                raise  # the service stops
            log.exception("a part of the service was handed a cancellation not meant for "
                          "it; starting it again", extra={"part": part})
        except Exception:
            log.exception("a part of the service failed; starting it again",
                          extra={"part": part})
        await asyncio.sleep(1.0)


async def _retry_forever(start: Callable[[], Awaitable[None]], what: str) -> None:
    delay = 0.5
    while True:
        try:
            await start()
            return
        except Exception as error:
            log.warning("cannot reach the broker yet", extra={"part": what, "error": repr(error)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_service_app(
    *, title: str, description: str, runtime: Runtime, routers: list[APIRouter]
) -> FastAPI:
    """A FastAPI app with the node's middleware, problem handlers, health and lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(runtime.settings.log_level, runtime.name)
        configure_tracing(runtime.settings, runtime.name)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            shutdown_tracing()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan,
                  telemetry=FASTAPI_TELEMETRY_OFF)
    app.state.runtime = runtime
    app.state.token_verifier = runtime.verifier
    install_problem_handlers(app)
    for router in routers:
        app.include_router(router)

    @app.get("/health", tags=["operations"], summary="Health of the service, its database "
             "and its broker, each reached now", responses=REPORT_RESPONSES)
    async def health() -> JSONResponse:
        return report_response(await runtime.health())

    # The probes' paths are not in the API document: the orchestrator calls each process
    # directly (docs/operations.md has them).
    @app.get("/health/live", include_in_schema=False, responses=LIVE_RESPONSES)
    async def live() -> dict[str, str]:
        return alive()

    @app.get("/health/ready", include_in_schema=False, responses=READY_RESPONSES)
    async def ready() -> JSONResponse:
        return report_response(await runtime.readiness())

    # Not in the API document: the gateway does not route it (docs/operations.md has it).
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus text: requests, outbox, consumers, whether the database and the broker
        answer, and the service's own figures."""
        await runtime.health()
        return Response(await render(runtime.metric_refreshes), media_type=CONTENT_TYPE)

    app.add_middleware(UnexpectedErrors)
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=runtime.settings.max_body_bytes,
                       max_upload_bytes=runtime.settings.max_upload_bytes)
    app.add_middleware(RequestTelemetry)
    return app
