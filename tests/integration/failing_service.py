"""A service made as the node's services are made (`create_service_app`: their middleware,
their problem answers, their token checks), with a route that fails as a bug would and a
route that takes a note: what the gateway forwards to when a service answers 500.

Served as a node's process is: `uvicorn tests.integration.failing_service:create_app
--factory` (tests start it with `tests.conftest._spawn`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, status
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import CurrentPrincipal
from shared.runtime import LightRuntime, create_service_app, jwks_from_url
from shared.settings import ComponentSettings
from shared.tokens import KeySet, TokenVerifier

router = APIRouter()


class FailingServiceSettings(ComponentSettings):
    jwks_url: str = Field(description="Where the node publishes its token-verification keys.")


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int


class NoteTaken(BaseModel):
    number: int
    department: str | None = Field(description="The department of the caller that sent it.")


@router.api_route("/broken", methods=["GET", "POST"])
async def broken(principal: CurrentPrincipal) -> None:
    """Fails after the caller's token was verified, and leaves a body sent to it unread."""
    raise RuntimeError("a bug no handler expects")


@router.post("/notes", status_code=status.HTTP_201_CREATED, response_model=NoteTaken)
async def take_note(note: Note, principal: CurrentPrincipal) -> NoteTaken:
    return NoteTaken(number=note.number, department=principal.department)


def create_app() -> FastAPI:
    """The service, verifying tokens with the keys at GOVSHARE_JWKS_URL."""
    settings = FailingServiceSettings()
    runtime = LightRuntime(name="failing", settings=settings)
    runtime.verifier = TokenVerifier(KeySet(jwks_from_url(settings.jwks_url)))
    return create_service_app(title="failing", description="Fails on /broken.",
                              runtime=runtime, routers=[router])
