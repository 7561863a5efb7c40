"""FastAPI dependencies that turn a bearer token into a verified principal with roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request

from shared.problems import Forbidden, Unauthorized
from shared.tokens import TokenClaims, TokenVerifier


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer …` header; Unauthorized if absent."""
    return parse_bearer(request.headers.get("authorization", ""))


def parse_bearer(header: str) -> str:
    """The token of an Authorization header's value; Unauthorized if it holds none."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("An `Authorization: Bearer <token>` header is required.",
                           reason="token_missing")
    return token.strip()


async def current_principal(request: Request) -> TokenClaims:
    """Verify the caller's token with the app's verifier."""
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(bearer_token(request))


CurrentPrincipal = Annotated[TokenClaims, Depends(current_principal)]


def require_role(*roles: str) -> Callable[..., Awaitable[TokenClaims]]:
    """A dependency that admits a principal holding at least one of `roles`."""

    async def dependency(principal: CurrentPrincipal) -> TokenClaims:
        if not any(principal.has_role(role) for role in roles):
            raise Forbidden(
                f"This operation needs one of the roles: {', '.join(roles)}.",
                reason="missing_role", required_roles=list(roles),
            )
        return principal

    return dependency


def has_any_role(principal: TokenClaims, roles: Iterable[str]) -> bool:
    return any(principal.has_role(role) for role in roles)
