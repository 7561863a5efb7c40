"""The node's own calls into the exchange, never routed by the gateway (`/internal/…`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from services.exchange import audit
from shared.contracts.catalog import PermittedUse
from shared.contracts.exchange import AccessKind

router = APIRouter(prefix="/internal", include_in_schema=False)


class ForwardedAccess(BaseModel):
    """A data call this node's gateway relayed to another node for one of its departments."""

    kind: AccessKind
    consumer: str = Field(pattern=r"^[0-9A-Z]{18}$")
    entry_code: str = Field(max_length=60)
    provider_node: str = Field(max_length=18)
    purpose: str | None = Field(None, max_length=100)
    status: int = Field(ge=100, le=599)
    record_count: int = Field(ge=0)
    actor: str = Field(max_length=64)


@router.post("/forwarded-accesses", status_code=status.HTTP_204_NO_CONTENT)
async def record_forwarded(body: ForwardedAccess, request: Request) -> None:
    """The consumer's end of a cross-node access (F2, E5): the provider's node audits it as
    well; here it is chained with the node's own accesses, the provider named by its node."""
    await audit.record_now(request.app.state.runtime.sessions, audit.Access(
        kind=body.kind, consumer=body.consumer, provider=body.provider_node,
        entry_code=body.entry_code, grant_id=None, purpose=_permitted(body.purpose), items=[],
        record_count=body.record_count,
        denied=None if body.status < 400 else f"remote_{body.status}"),
        actor=body.actor[:64], node=body.provider_node)


def _permitted(purpose: str | None) -> str | None:
    """The purpose as the audit chain records it: one the rules know, or none."""
    return purpose if purpose in set(PermittedUse) else None
