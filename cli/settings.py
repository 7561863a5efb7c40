"""Settings of the operator CLI and of `govshare up`, the node supervisor."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from shared.sealing import SealingError, new_key_setting
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

    def node_kek(self) -> str:
        """GOVSHARE_KEK when set (always, against an external database: a Secret there);
        on the embedded default, the node's own in its home, made on first use and readable
        by its owner alone, beside the data it seals but never inside the database."""
        if self.kek is not None:
            return self.kek.get_secret_value()
        if self.database_url is not None:
            raise SealingError("GOVSHARE_KEK must be set for a node on an external "
                               "database: it seals the signing keys kept there")
        path = self.home / "kek"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                           "w") as file:
                file.write(new_key_setting() + "\n")
        return path.read_text().strip()
