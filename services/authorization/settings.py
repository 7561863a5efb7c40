"""Settings of the authorization service."""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.settings import SecretKeepingSettings

CLIENT_SECRET_VALID_DAYS = 365


class AuthorizationSettings(SecretKeepingSettings):
    token_ttl_seconds: int = Field(
        900, ge=60, le=86_400, description="Lifetime of issued access tokens."
    )
    retired_key_grace_seconds: int = Field(
        86_400, description="How long a rotated-out key stays published for verification."
    )
    answer_workdays: int = Field(
        10, ge=1, le=60, description="Working days a provider has to answer a conditional "
        "request [51 §12]; a tier whose rules are stricter sets fewer.")
    sweep_interval_seconds: float = Field(
        60.0, gt=0, description="How often overdue requests, expired grants and lapsed "
        "confidentiality agreements are swept.")
    # Staff and client security (A7).
    login_max_failures: int = Field(
        5, ge=1, le=100, description="Failed logins for one user name, within the window, "
        "that lock it out.")
    login_failure_window_seconds: int = Field(
        900, ge=1, description="How long failed logins are counted together.")
    login_lockout_seconds: int = Field(
        1800, ge=1, description="How long a locked-out user name is refused (an "
        "administrator may lift it sooner).")
    login_failure_delay_seconds: float = Field(
        0.25, ge=0, le=5, description="A failed login is answered this much later for each "
        "failure counted on its user name.")
    client_secret_valid_days: int = Field(
        CLIENT_SECRET_VALID_DAYS, ge=1, le=3650, description="How long a client secret is "
        "valid unless the node admin sets a shorter time when issuing it.")
    network_exchange_seconds: float = Field(
        10.0, gt=0, description="How often this node tells its parent the nodes below it and "
        "learns those beyond (F5): a node linked anywhere in the tree is reachable from "
        "everywhere within a few of these.")
    services: dict[str, str] = Field(
        default_factory=lambda: {"exchange": "http://127.0.0.1:8103"},
        description="The node's services by name, as the gateway has them (env "
                    "GOVSHARE_SERVICES as JSON); a revocation is answered once the "
                    "`exchange` decides on it (A5).")
    in_force_within_seconds: float = Field(
        10.0, gt=0, le=60, description="How long a revocation's answer waits for the "
        "exchange to apply it before it answers 503 not-yet-in-force (the change is kept).")

    @field_validator("services")
    @classmethod
    def _names_the_exchange(cls, services: dict[str, str]) -> dict[str, str]:
        if "exchange" not in services:
            raise ValueError("GOVSHARE_SERVICES must name the exchange service")
        return services
