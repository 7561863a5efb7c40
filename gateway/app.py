"""App factory of the gateway: `uvicorn gateway.app:create_app --factory`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import swagger_ui_bundle
from fastapi import FastAPI, Form, Header, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.forwarded import forwarded_for
from gateway.health import node_health
from gateway.nodes import (
    ForwardedAudit,
    FromOtherNode,
    OnwardNodeCalls,
    RelayTokens,
    ToOtherNode,
    is_inbound,
    is_outbound,
)
from gateway.open_data import open_data_router
from gateway.openapi import combined_openapi
from gateway.paths import NormalPaths
from gateway.portal import PortalPages, is_page
from gateway.proxy import ServiceProxy, is_api_call, is_federation_call
from gateway.settings import GatewaySettings
from shared.contracts import LoginRequest, TokenResponse
from shared.health import (
    LIVE_RESPONSES,
    READY_RESPONSES,
    alive,
    keys_loaded,
    report_response,
    run_checks,
)
from shared.linked_nodes import NodeTokens
from shared.logs import configure_logging
from shared.metrics import CONTENT_TYPE, render
from shared.problems import NotFound, install_problem_handlers
from shared.ratelimit import RateLimiter
from shared.runtime import jwks_from_url
from shared.telemetry import configure_tracing, http_client, shutdown_tracing
from shared.tokens import KeySet, TokenVerifier
from shared.web import (
    FASTAPI_TELEMETRY_OFF,
    BodyGuardMiddleware,
    RequestTelemetry,
    RouteAhead,
    RouteLabel,
    UnexpectedErrors,
)

FORWARDED_RESPONSE_HEADERS = ("content-type", "www-authenticate", "cache-control",
                              "retry-after")


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    """The gateway: `/api/…` goes to the proxy behind request ids and the body guard only;
    everything else (tokens, keys, health, docs) to the FastAPI app, which also runs the
    lifespan that opens the proxy's connections."""
    settings = settings or GatewaySettings()
    identity_url = settings.services[settings.identity_service].rstrip("/")
    client = http_client(
        timeout=settings.upstream_timeout_seconds,
        limits=httpx.Limits(max_connections=settings.max_connections,
                            max_keepalive_connections=settings.max_connections),
    )
    verifier = TokenVerifier(KeySet(jwks_from_url(f"{identity_url}/jwks")))
    proxy, federation = (ServiceProxy(
        services=settings.services, verifier=verifier,
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        max_connections=settings.max_connections,
        timeout_seconds=settings.upstream_timeout_seconds, federation=from_nodes,
        trusted_proxies=settings.trusted_proxies)
        for from_nodes in (False, True))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, "gateway")
        configure_tracing(settings, "gateway")
        await proxy.start()
        await federation.start()
        try:
            yield
        finally:
            await forwarded_audit.close()
            await proxy.stop()
            await federation.stop()
            await client.aclose()
            shutdown_tracing()

    app = FastAPI(
        title="govshare node", version="1.0.0", lifespan=lifespan,
        description="The node's single entry point. Obtain a token at `/oauth/token` "
                    "(systems) or `/auth/login` (staff), then call `/api/<service>/…` with "
                    "`Authorization: Bearer <token>`.",
        docs_url=None, openapi_url=None, redoc_url=None, telemetry=FASTAPI_TELEMETRY_OFF,
    )
    install_problem_handlers(app)

    async def relay(request: Request, path: str, *, base_url: str = identity_url,
                    **body: Any) -> Response:
        """Pass an unauthenticated call on (tokens, keys, open data); body: data= or json=."""
        upstream = await client.request(
            request.method, f"{base_url}{path}", **body, params=request.query_params,
            headers={**{k: v for k, v in request.headers.items()
                        if k in ("authorization", "dpop", "x-request-id")},
                     **_decoded(forwarded_for(request.scope, settings.trusted_proxies))},
        )
        headers = {k: v for k, v in upstream.headers.items()
                   if k in FORWARDED_RESPONSE_HEADERS}
        return Response(upstream.content, upstream.status_code, headers=headers)

    @app.post("/oauth/token", tags=["tokens"], response_model=TokenResponse,
              summary="OAuth2 client-credentials grant for department systems "
                      "(RFC 6749 §4.4; credentials in the form or as HTTP Basic)")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form(description="Must be `client_credentials`.")],
        client_id: Annotated[str | None, Form(description="Unless sent as Basic.")] = None,
        client_secret: Annotated[str | None, Form(description="Unless sent as Basic.")] = None,
        dpop: Annotated[str | None, Header(
            alias="DPoP", description="A DPoP proof (RFC 9449 §4) of a key the system holds: "
            "the token is then bound to that key (`token_type` DPoP) and serves streamed "
            "ingest only, each envelope signed by the key.")] = None,
    ) -> Response:
        form = {"grant_type": grant_type, "client_id": client_id, "client_secret": client_secret}
        return await relay(request, "/token",
                           data={k: v for k, v in form.items() if v is not None})

    @app.post("/auth/login", tags=["tokens"], response_model=TokenResponse,
              summary="Staff login with user name and password",
              responses={429: {"description": "Too many failed logins for this user name: "
                               "refused, right password or not, until `Retry-After` or an "
                               "administrator lifts the lock."}})
    async def login(request: Request, credentials: LoginRequest) -> Response:
        return await relay(request, "/login", json=credentials.model_dump())

    @app.get("/.well-known/jwks.json", tags=["tokens"], summary="The node's public keys")
    async def jwks(request: Request) -> Response:
        return await relay(request, "/jwks")

    @app.get("/open-data/catalog.jsonld", tags=["open data"],
             summary="The catalog entries open to the public, as DCAT JSON-LD (no token)",
             response_class=Response, responses={200: {
                 "description": "A DCAT catalog (dcat:Catalog with its dcat:dataset).",
                 "content": {"application/ld+json": {"schema": {"type": "object"}}}}})
    async def open_data(request: Request) -> Response:
        if "catalog" not in settings.services:
            raise NotFound("This node routes no catalog service.")
        return await relay(request, "/dcat", base_url=settings.services["catalog"].rstrip("/"))

    app.include_router(open_data_router(settings, client))

    @app.get("/health", tags=["operations"], summary="Health of every service, the database "
             "and the broker", responses={503: {
                 "description": "Some part is down: the same report, naming it.",
                 "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def health() -> JSONResponse:
        return report_response(await node_health(settings.services, client))

    @app.get("/health/live", tags=["operations"], summary="The gateway answers (liveness)",
             responses=LIVE_RESPONSES)
    async def live() -> dict[str, str]:
        return alive()

    @app.get("/health/ready", tags=["operations"], summary="This gateway can serve: it "
             "holds the keys that verify tokens (readiness; the services, the database and "
             "the broker are in /health)", responses=READY_RESPONSES)
    async def ready() -> JSONResponse:
        return report_response(await run_checks({"keys": keys_loaded(verifier)}))

    async def refresh_health() -> None:
        await node_health(settings.services, client)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """For the scraper inside the node's network; the Ingress does not route it."""
        return Response(await render([refresh_health]), media_type=CONTENT_TYPE)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        return await combined_openapi(app.openapi(), settings.services, client)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="govshare node API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )

    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestTelemetry)
    services = frozenset(settings.services)
    # Mounted under /api, so the proxy sees paths as a mount would show them.
    api = _body_guarded(_mounted(proxy, "/api"), settings)
    relays = RelayTokens(client, identity_url)
    from_nodes = _body_guarded(OnwardNodeCalls(
        inner=_mounted(federation, "/federation"), proxy=federation, relays=relays), settings)
    forwarded_audit = ForwardedAudit(client, settings.services.get("exchange"))
    to_other_node = _body_guarded(ToOtherNode(
        proxy=proxy, tokens=NodeTokens(client, identity_url), audit=forwarded_audit), settings)
    from_other_node = FromOtherNode(api=api, proxy=proxy, relays=relays)
    routed = RouteAhead(app, matches=is_api_call, handler=RequestTelemetry(
        api, route=_by_service(r"/api/", "/api/{service}", services)))
    routed = RouteAhead(routed, matches=is_federation_call, handler=RequestTelemetry(
        from_nodes, route=_by_service(r"/federation/", "/federation/{service}", services)))
    if settings.portal_url:
        routed = RouteAhead(routed, matches=is_page, handler=RequestTelemetry(
            _body_guarded(PortalPages(proxy, settings.portal_url), settings), route="/{page}"))
    routed = RouteAhead(routed, matches=is_inbound, handler=RequestTelemetry(  # before the above
        from_other_node,
        route=_by_service(r"/federation/relay/", "/federation/relay/{service}", services)))
    # Outermost: every route below decides on a path that no later hop can resolve further.
    return NormalPaths(RouteAhead(routed, matches=is_outbound, handler=RequestTelemetry(
        to_other_node,
        route=_by_service(r"/nodes/[^/]+/api/", "/nodes/{{node}}/api/{service}", services))))


def _decoded(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in headers}


def _body_guarded(inner: ASGIApp, settings: GatewaySettings) -> ASGIApp:
    return BodyGuardMiddleware(UnexpectedErrors(inner), max_body_bytes=settings.max_body_bytes,
                               max_upload_bytes=settings.max_upload_bytes)


def _by_service(prefix: str, template: str, services: frozenset[str]) -> RouteLabel:
    """Names a routed call in the metrics by the service it is for; a name this node does
    not route reads `{unknown}`, so callers cannot make the labels grow without bound."""
    pattern = re.compile(f"^{prefix}(?P<service>[^/]+)")

    def label(scope: Scope) -> str:
        match = pattern.match(str(scope["path"]))
        known = match is not None and match["service"] in services
        return template.format(service=match["service"] if known else "{unknown}")

    return label


def _mounted(inner: ASGIApp, prefix: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await inner({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)

    return app
