"""Settings base classes: every component reads its configuration from the environment.

Nothing here is read at import time: a component builds its settings object in its app
factory, so tests can construct one with explicit values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka import KafkaSecurity, SaslMechanism, SecurityProtocol


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
    kek: SecretStr | None = Field(
        None, description="Key-encryption keys that seal the secrets kept in the database "
                          "(signing keys, providers' API credentials): `<id>:<32 bytes in "
                          "base64>`, comma-separated, the first one sealing (see "
                          "shared/sealing.py). From a Secret, never from the database.",
    )


class ServiceSettings(ComponentSettings):
    """What a backend service needs besides: its database, its broker and where keys live."""

    database_url: str = Field(
        ..., validation_alias="DATABASE_URL", description="postgresql+asyncpg:// URL."
    )
    kafka_bootstrap_servers: str = Field(
        ..., validation_alias="KAFKA_BOOTSTRAP_SERVERS", description="host:port[,host:port]."
    )
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="PLAINTEXT only for the embedded broker on loopback; SASL_SSL (TLS and "
                    "SCRAM) against a production cluster.",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        "SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM",
        description="SCRAM variant of the broker's listener (SASL protocols only).",
    )
    kafka_sasl_username: str | None = Field(
        None, validation_alias="KAFKA_SASL_USERNAME",
        description="This service's principal on the broker (its own KafkaUser).",
    )
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias="KAFKA_SASL_PASSWORD", description="That principal's password.",
    )
    kafka_ssl_cafile: Path | None = Field(
        None, validation_alias="KAFKA_SSL_CAFILE",
        description="CA certificate (PEM) the broker's certificate is checked against; "
                    "unset, the system's CAs (SSL protocols only).",
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

    @model_validator(mode="after")
    def _broker_credentials_complete(self) -> Self:
        # Refused at start rather than found out as a failed handshake retried forever.
        if self.kafka_security.authenticates and not (
                self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return self

    @property
    def kafka_security(self) -> KafkaSecurity:
        """How this service's Kafka clients connect (every one of them: see shared.kafka)."""
        password = self.kafka_sasl_password
        return KafkaSecurity(
            protocol=self.kafka_security_protocol, sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ca_file=self.kafka_ssl_cafile)


class SecretKeepingSettings(ServiceSettings):
    """A service that keeps secrets in its database: it does not start without the
    key-encryption key that seals them."""

    @model_validator(mode="after")
    def _kek_given(self) -> Self:
        if self.kek is None:
            raise ValueError("GOVSHARE_KEK must be set: this service keeps secrets sealed "
                             "in its database, and a `govshare up` node keeps the key in "
                             "its home (kek); see docs/operations.md, Secrets at rest")
        return self
