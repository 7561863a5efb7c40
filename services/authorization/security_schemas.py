"""Bodies of the staff and client security API (A7): secrets, networks, lock-outs, the trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.authorization.security_log import ActorKind, Outcome, SecurityEventKind
from shared.addresses import NetworkInput

Networks = Annotated[list[NetworkInput], Field(
    max_length=50, description="Networks (CIDR, e.g. 10.32.0.0/16) the client may get tokens "
    "from, as the gateway sees the caller's address; empty: anywhere.")]
SecretValidDays = Annotated[int | None, Field(
    None, ge=1, le=3650, description="Days the new secret is valid; the node's default "
    "(GOVSHARE_CLIENT_SECRET_VALID_DAYS, 365) when omitted.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientSecretRotation(Strict):
    old_secret_valid_seconds: int = Field(
        0, ge=0, le=86_400, description="How long the replaced secret keeps working, so the "
        "system can switch without a gap (at most a day); 0, the default: it stops at once, "
        "as it must when it may have leaked.")
    secret_valid_days: SecretValidDays


class ClientNetworks(Strict):
    allowed_networks: Networks


class LockStatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    failures: int = Field(description="Failed logins counted on the name now.")
    locked_until: datetime | None = Field(description="Logins are refused until then.")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class SecurityEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    kind: SecurityEventKind
    outcome: Outcome
    actor: str = Field(description="Who acted: a user name (the one tried, for a login), a "
                                   "client id, or `operator` (the CLI at the node's machine).")
    actor_kind: ActorKind
    target: str | None = Field(description="The user, client or key acted on.")
    source: Annotated[str | None, BeforeValidator(_text)] = Field(
        description="The address the gateway saw the actor at.")
    reason: str | None = Field(description="Why it was refused or failed, for a program.")
    detail: dict[str, Any]
    request_id: str | None
