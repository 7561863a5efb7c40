"""App factory of the catalog service.

Run with `uvicorn services.catalog.app:create_app --factory`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.catalog import (
    base_items_router,
    federation,
    federation_router,
    handlers,
    metrics,
    obligations_router,
    registry_router,
    router,
    search_router,
    supervision_router,
    thesaurus_router,
    workbook_router,
)
from services.catalog.search_cache import SearchCache
from services.catalog.settings import CatalogSettings
from shared.linked_nodes import LinkedNodeTokens, NodeTokens
from shared.runtime import ServiceRuntime, create_service_app
from shared.telemetry import http_client

SERVICE = "catalog"
MIGRATIONS = Path(__file__).parent / "migrations"


# Kept search answers hold their pages' entries whole (about 1.3 KiB an entry): 64 MiB keeps
# about 2,500 first pages of 20 for each catalog process.
SEARCH_ANSWERS_BYTES = 64 * 1024 * 1024


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    settings = settings or CatalogSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations_dir=MIGRATIONS)
    runtime.consume(handlers.handlers)
    http = http_client(timeout=settings.federation_timeout_seconds)
    runtime.close_on_stop(http.aclose)
    pusher = federation.Pusher(sessions=runtime.sessions, http=http,
                               tokens=NodeTokens(http, settings.identity_service_url))
    runtime.every(settings.federation_push_seconds, "federation", pusher.push)
    runtime.measure_on_scrape(metrics.measure)
    app = create_service_app(
        title="govshare catalog",
        description="The resource catalog (目录): entries with the 13 elements of the 2017 "
                    "guide, rules C1–C5, versions and lifecycle (requirements §3).",
        runtime=runtime,
        routers=[search_router.router, thesaurus_router.router, router.router,
                 obligations_router.router, registry_router.router, base_items_router.router,
                 federation_router.router, workbook_router.router,
                 supervision_router.router],
    )
    app.state.node_tokens = LinkedNodeTokens(settings.node_id)
    app.state.search_cache = SearchCache(max_bytes=SEARCH_ANSWERS_BYTES,
                                         seconds=settings.search_cache_seconds)
    return app
