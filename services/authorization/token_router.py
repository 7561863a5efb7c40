"""Token issuing, the published keys, and `whoami`: what the gateway exposes publicly."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request

from services.authorization import lockout, token_issuer
from services.authorization.deps import SessionDep, SettingsDep
from services.authorization.exceptions import InvalidClient, InvalidDpopProof, UnsupportedGrant
from services.authorization.lockout import LoginPolicy
from services.authorization.models import Department, User
from services.authorization.node_keys import published_jwks
from services.authorization.schemas import Whoami
from services.authorization.security_log import (
    Actor,
    ActorKind,
    SecurityEventKind,
    SessionsDep,
    SourceDep,
    record,
    refusals_recorded,
)
from shared.auth import CurrentPrincipal
from shared.contracts import LoginRequest, TokenResponse
from shared.proofs import ProofError, dpop_key
from shared.tokens import PrincipalKind

router = APIRouter(tags=["tokens"])

TOKEN_PATH = "/oauth/token"


# /token, /login and /jwks are reached through the gateway's /oauth/token, /auth/login and
# /.well-known/jwks.json, which document them; hidden here so /api/authorization/… does not.
@router.post("/token", response_model=TokenResponse, include_in_schema=False,
             summary="OAuth2 client-credentials grant for department systems (RFC 6749 §4.4)")
async def client_credentials_token(
    request: Request,
    session: SessionDep,
    sessions: SessionsDep,
    source: SourceDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(description="Must be `client_credentials`.")],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    dpop: Annotated[str | None, Header(alias="DPoP")] = None,
) -> TokenResponse:
    if grant_type != "client_credentials":
        raise UnsupportedGrant("Only grant_type=client_credentials is supported.",
                               field="grant_type", error="unsupported_grant_type")
    client_id, client_secret = _client_credentials(request, client_id, client_secret)
    actor = Actor(client_id, ActorKind.client, source=source)
    async with refusals_recorded(sessions, actor, SecurityEventKind.client_token, client_id):
        bound_to = _proven_key(dpop) if dpop is not None else None  # a bad proof is recorded
        token = await token_issuer.token_for_client(
            session, client_id, client_secret, settings.token_ttl_seconds, bound_to,
            source=source)
    record(session, actor, SecurityEventKind.client_token, target=client_id)
    return TokenResponse(access_token=token, token_type="DPoP" if bound_to else "Bearer",
                         expires_in=settings.token_ttl_seconds)


def _proven_key(dpop: str) -> str:
    """The key a DPoP proof for this endpoint shows the caller holds (RFC 9449 §5)."""
    try:
        # The path the system calls: the gateway's (this service is never reached directly).
        return dpop_key(dpop, method="POST", path=TOKEN_PATH)
    except ProofError as error:
        raise InvalidDpopProof(f"The DPoP proof is not valid: {error}.") from error


def _client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str, str]:
    """Credentials from HTTP Basic (preferred by RFC 6749) or from the form body."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise InvalidClient("The Basic authorization header is malformed.") from error
    if not client_id or not client_secret:
        raise InvalidClient("client_id and client_secret are required.")
    if "\x00" in client_id + client_secret:  # no such client: the database holds no NUL
        raise InvalidClient("The client credentials are invalid.")
    return client_id, client_secret


@router.post("/login", response_model=TokenResponse, include_in_schema=False,
             summary="Staff login with a password")
async def login(body: LoginRequest, sessions: SessionsDep, source: SourceDep,
                settings: SettingsDep) -> TokenResponse:
    token = await lockout.log_in(sessions, body.username, body.password, source=source,
                                 policy=LoginPolicy.of(settings),
                                 ttl_seconds=settings.token_ttl_seconds)
    return TokenResponse(access_token=token, expires_in=settings.token_ttl_seconds)


@router.get("/jwks", include_in_schema=False,
            summary="The node's public signing keys (JWKS, RFC 7517)")
async def jwks(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    return await published_jwks(session, timedelta(seconds=settings.retired_key_grace_seconds))


@router.get("/me", response_model=Whoami, summary="Who the bearer of this token is")
async def whoami(principal: CurrentPrincipal, session: SessionDep) -> Whoami:
    found = Whoami(subject=principal.sub, kind=principal.kind, department=principal.department,
                   roles=principal.roles, node=principal.node, expires_at=principal.exp)
    if principal.kind != PrincipalKind.user:
        return found  # systems call this often, and no page shows them: no lookups
    # A person's names, for the header of the pages they use (the portal's).
    user = await session.get(User, principal.sub)
    department = (await session.get(Department, principal.department)
                  if principal.department else None)
    return found.model_copy(update={"display_name": user.display_name if user else None,
                                    "department_name": department.name if department else None})
