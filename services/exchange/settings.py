"""Settings of the exchange service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shared.settings import SecretKeepingSettings


class ExchangeSettings(SecretKeepingSettings):
    open_data_streams: int = Field(
        4, ge=1, le=100, description="Public downloads of open data one exchange process "
        "streams at once: each holds a database connection for as long as its caller reads, "
        "and anyone may start one, so they may not take the pool from the departments.")
    audit_seal_interval_seconds: float = Field(
        0.5, gt=0, description="How often new audit entries are sealed into the hash chain.")
    audit_anchor_interval_seconds: float = Field(
        1.0, gt=0, description="How often sealed heads of the audit chain are sent to the "
                               "parent node (or, with none, written to the anchor file).")
    audit_anchor_file: Path | None = Field(
        None, description="Append-only file where a node with no parent anchors its audit "
                          "heads, each line chained to the one before; put it on WORM or "
                          "separate storage. Unset: <home>/audit-anchor/<node id>.jsonl.")
    audit_key_secret: SecretStr | None = Field(
        None, description="Secret of the keyed hash (HMAC-SHA256) that records whose key an "
                          "online query looked up. Set it in production, the same on every "
                          "replica, from a secret store and never in the database. Unset: "
                          "one generated in <home>/secrets/audit-key.")
    home: Path = Field(Path(".govshare"), description="The node's home (GOVSHARE_HOME), where "
                                                      "the two files above go by default.")
    delivery_interval_seconds: float = Field(
        0.5, gt=0, description="How often subscriptions are checked for changes to deliver.")
    delivery_batch: int = Field(500, ge=1, le=10_000,
                                description="Records delivered to a subscriber at a time.")
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_max_backoff_seconds: float = Field(
        300.0, gt=0, description="Longest wait between retries to an unreachable webhook.")
    freshness_interval_seconds: float = Field(
        300.0, gt=0, description="How often entries are checked against their update cycle.")
    source_api_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of a call to a provider's own API (系统对接).")
    ingest_proof_max_age_seconds: float = Field(
        600.0, ge=10, le=86_400,
        description="How old an ingest envelope's proof may be when the exchange reads it; "
                    "an older one is refused (proof_expired) and its sender sends the record "
                    "again with a new proof. Longer than the consumer ever lags.")
    source_api_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) where providers' own APIs may be registered, e.g. "
                    '["10.32.0.0/16"]: the departments\' systems are on private networks, '
                    "which, like the node's own services, are refused while it is empty "
                    "(then public addresses only).")

    @property
    def anchor_file(self) -> Path:
        return self.audit_anchor_file or self.home / "audit-anchor" / f"{self.node_id}.jsonl"

    @property
    def generated_audit_key(self) -> Path:
        return self.home / "secrets" / "audit-key"
