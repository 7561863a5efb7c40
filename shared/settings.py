"""Settings base classes: every component reads its configuration from the environment.

Nothing here is read at import time: a component builds its settings object in its app
factory, so tests can construct one with explicit values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ComponentSettings(BaseSettings):
    """What every process of a node needs: who the node is and how to log."""

    model_config = SettingsConfigDict(env_prefix="GOVSHARE_", extra="ignore")

    node_id: str = Field("local", description="Id of the node this process belongs to.")
    log_level: str = Field("INFO", description="Python logging level name.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, description="Largest request body accepted, in bytes (413 above)."
    )
    max_upload_bytes: int = Field(
        20 * 1024**3, description="Largest bulk upload (CSV or JSON Lines) accepted, in bytes."
    )
    otlp_endpoint: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OpenTelemetry collector (OTLP over HTTP, e.g. http://collector:4318) that "
                    "receives the traces; unset, spans only put trace ids into the logs.",
    )
    trace_sample_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of traces begun here that are recorded (a call "
                                     "that arrives sampled stays sampled).",
    )


class ServiceSettings(ComponentSettings):
    """What a backend service needs besides: its database, its broker and where keys live."""

    database_url: str = Field(
        ..., validation_alias="DATABASE_URL", description="postgresql+asyncpg:// URL."
    )
    kafka_bootstrap_servers: str = Field(
        ..., validation_alias="KAFKA_BOOTSTRAP_SERVERS", description="host:port[,host:port]."
    )
    jwks_url: str = Field(
        "http://127.0.0.1:8101/jwks",
        description="Where the node publishes its token-verification keys.",
    )
    identity_service_url: str = Field(
        "http://127.0.0.1:8101",
        description="The authorization service, which signs this node's node tokens (G2).",
    )
    outbox_poll_seconds: float = Field(0.2, description="Relay poll interval when idle.")
    outbox_retention_hours: float = Field(
        24 * 7, description="How long published outbox rows are kept for broker replays."
    )
    clock_file: Path | None = Field(
        None, description="For tests and drills only, never set in production: a file holding "
                          "an offset in seconds added to the system time for every business "
                          "rule (due dates, grant expiry, staleness), so writing it moves the "
                          "node's time.",
    )
