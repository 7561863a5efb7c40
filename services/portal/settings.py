"""Settings of the portal."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from services.portal.inbox_settings import InboxSettings


class PortalSettings(InboxSettings):
    gateway_url: str = Field(
        "http://127.0.0.1:8000",
        description="The node's gateway as the portal reaches it: every page calls the API "
                    "there with the signed-in person's own token.")
    api_timeout_seconds: float = Field(
        15.0, gt=0, description="Longest wait for one API call behind a page.")
    csrf_key: SecretStr | None = Field(
        None, description="Key that signs the forms' CSRF tokens; the same on every replica "
                          "of the portal. Unset, each process makes its own at start (forms "
                          "open in a browser then need a reload after a restart).")
    who_cache_seconds: float = Field(
        30.0, ge=0, description="How long who a token belongs to (name, department, roles) "
                                "is remembered before the API is asked again.")
    clock_file: Path | None = Field(
        None, description="Tests and drills only: the node's clock offset file, so the "
                          "working-day countdowns count from the node's day.")
