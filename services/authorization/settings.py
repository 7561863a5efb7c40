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
