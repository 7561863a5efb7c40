"""Settings of the gateway."""

from __future__ import annotations

from pydantic import Field, IPvAnyNetwork

from shared.settings import ComponentSettings


class GatewaySettings(ComponentSettings):
    services: dict[str, str] = Field(
        default_factory=lambda: {"authorization": "http://127.0.0.1:8101",
                                 "catalog": "http://127.0.0.1:8102",
                                 "exchange": "http://127.0.0.1:8103",
                                 "evaluation": "http://127.0.0.1:8104"},
        description="Service name → base URL; routed as /api/<name>/… "
                    '(env GOVSHARE_SERVICES as JSON, e.g. {"authorization": "http://…"}).',
    )
    portal_url: str | None = Field(
        "http://127.0.0.1:8105",
        description="The portal (门户), served at `/`: every path that is not the API's "
                    "(`/api/…`, `/oauth/…`, `/auth/…`, `/docs`, …); none: no pages.")
    identity_service: str = Field(
        "authorization", description="The service that issues tokens and publishes keys."
    )
    rate_limit_per_second: float = Field(
        200.0, gt=0, description="Sustained calls per second allowed to one client."
    )
    rate_limit_burst: int = Field(400, ge=1, description="Calls one client may burst.")
    open_data_rate_per_second: float = Field(
        2.0, gt=0, description="Open-data downloads per second one address may start (no "
                               "token: the address is all the gateway knows of the caller).")
    open_data_burst: int = Field(20, ge=1, description="Open-data downloads one address may "
                                                       "start at once.")
    upstream_timeout_seconds: float = Field(
        60.0, description="Longest silence of a service in a routed call (streams may run "
                          "longer as long as data flows).")
    max_connections: int = Field(200, description="Pooled connections to the services.")
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Proxies in front of the gateway (the Ingress, a load balancer) whose "
                    "X-Forwarded-For is believed, as networks (env GOVSHARE_TRUSTED_PROXIES "
                    'as JSON, e.g. ["10.42.0.0/16"]); none: the connection\'s address is the '
                    "caller's, whatever the header says.")
