"""Settings of the operator CLI and of `govshare up`, the node supervisor."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import ComponentSettings


class CliSettings(ComponentSettings):
    database_url: str | None = Field(
        None, validation_alias="DATABASE_URL",
        description="External PostgreSQL; unset means the embedded one under `home`.",
    )
    kafka_bootstrap_servers: str | None = Field(
        None, validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="External Kafka; unset means the embedded broker.",
    )
    home: Path = Field(Path(".govshare"), description="Where the embedded node keeps its data.")
    gateway_port: int = Field(8000, description="Port of the gateway on 127.0.0.1.")
    service_port_base: int = Field(8100, description="Services listen on base+1, base+2, …")
    broker_port: int = Field(9092, description="Port of the embedded broker.")
    host: str = Field("127.0.0.1", description="Interface the gateway listens on.")
