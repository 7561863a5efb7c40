"""App factory of the portal (门户): `uvicorn services.portal.app:create_app --factory`.

Server-rendered pages for the node's staff and the public, served by the gateway at `/`.
The portal keeps no business data: every page asks the node's API through the gateway, as
the signed-in person, so it can never show or do more than that person may. Its own records
are the inbox's (站内信): notices made from the platform's events, in its schema `portal`.
"""

from __future__ import annotations

import secrets
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from services.portal import (
    admin_router,
    agreements_router,
    arbitration_router,
    audit_router,
    calendar_router,
    catalog_router,
    department_router,
    duplicates_router,
    editor_router,
    evaluation_router,
    federation_router,
    filing_router,
    grants_router,
    handlers,
    home_router,
    inbox_router,
    mail,
    mail_router,
    method_router,
    objections_router,
    oversight_router,
    public_router,
    registry_router,
    reminders,
    requests_router,
    signin_router,
    supervision_router,
    triggers_router,
    usefulness_router,
    users_router,
    workbook_router,
)
from services.portal.api import NodeApi
from services.portal.csrf import CsrfGuard, CsrfTokens
from services.portal.errors import csrf_refused, install_page_handlers
from services.portal.session import Viewers
from services.portal.settings import PortalSettings
from shared import clock
from shared.runtime import ServiceRuntime, create_service_app
from shared.telemetry import http_client

SERVICE = "portal"
STATIC = Path(__file__).parent / "static"
MIGRATIONS = Path(__file__).parent / "migrations"
# Every page's router; a new top-level path needs its line in k8s/base/ingress.yaml too.
ROUTERS = [signin_router.router, home_router.router, catalog_router.router,
           department_router.router, public_router.router, inbox_router.router,
           mail_router.router, requests_router.router, filing_router.router,
           grants_router.router, editor_router.router, triggers_router.router,
           duplicates_router.router, registry_router.router, usefulness_router.router,
           arbitration_router.router, audit_router.router, evaluation_router.router,
           admin_router.router, users_router.router, agreements_router.router,
           objections_router.router, oversight_router.router, federation_router.router,
           method_router.router, calendar_router.router, workbook_router.router,
           supervision_router.router]


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    clock.install_from(settings.clock_file)
    http = http_client(base_url=settings.gateway_url.rstrip("/"),
                       timeout=settings.api_timeout_seconds)
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations_dir=MIGRATIONS)
    runtime.check_also("gateway", _gateway_alive(http))
    runtime.close_on_stop(http.aclose)
    _keep_the_inbox(runtime, settings)
    app = create_service_app(
        title="govshare portal",
        description="The node's website (门户): staff pages and the open-data site.",
        runtime=runtime,
        routers=ROUTERS,
    )
    api = NodeApi(http)
    app.state.api = api
    app.state.viewers = Viewers(api, seconds=settings.who_cache_seconds)
    install_page_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    key = (settings.csrf_key.get_secret_value().encode() if settings.csrf_key
           else secrets.token_bytes(32))
    # Innermost (appended, not add_middleware's outermost): the body guard has bounded the
    # form before the guard reads it, and telemetry counts the refusals.
    app.user_middleware.append(Middleware(
        CsrfGuard, tokens=CsrfTokens(key), refuse=csrf_refused,
        max_form_bytes=settings.max_body_bytes))
    return app


def _gateway_alive(http: httpx.AsyncClient) -> Any:
    async def check() -> dict[str, Any]:
        response = await http.get("/health/live")
        response.raise_for_status()
        return {}

    return check


def _keep_the_inbox(runtime: ServiceRuntime, settings: PortalSettings) -> None:
    """Notices from the platform's events, the reminders no event gives, and their mail
    when the node has a mail server."""
    runtime.consume(handlers.handlers)
    for name, remind in (("due-requests", reminders.remind_due_requests),
                         ("expiring-grants", reminders.remind_expiring_grants)):
        runtime.every(settings.sweep_interval_seconds, name, partial(remind, runtime.sessions))
    if settings.mails:
        mailer = mail.NoticeMailer(settings, runtime.sessions)
        runtime.every(settings.mail_poll_seconds, "notice-mail", mailer.deliver_due)
    runtime.measure_on_scrape(mail.measure_waiting)
