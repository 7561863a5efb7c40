"""Settings of the authorization service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class AuthorizationSettings(ServiceSettings):
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
        60.0, gt=0, description="How often overdue requests and expired grants are swept.")
