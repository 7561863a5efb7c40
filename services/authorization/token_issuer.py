"""Issuing access tokens (G1): client credentials for systems, password login for staff."""

from __future__ import annotations

import asyncio
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import client_secrets, credentials
from services.authorization.exceptions import InvalidLogin, NodeNotInitialized
from services.authorization.models import User
from services.authorization.node_keys import active_signing_key, require_local_node
from services.authorization.security_log import WRONG_CREDENTIALS
from shared.tokens import PrincipalKind, issue_token


@cache
def _dummy_password_hash() -> str:
    # Checked for unknown users so they cost as much as a wrong password (no user probing).
    return credentials.hash_password("govshare-timing-equaliser")


async def token_for_client(
    session: AsyncSession, client_id: str, client_secret: str, ttl_seconds: int,
    bound_to: str | None = None, *, source: str | None = None,
) -> str:
    """A token for a system whose credentials are right, unexpired and not revoked, asked for
    from one of its allowed networks (`client_secrets.authenticate`); with `bound_to`, a
    key thumbprint the system proved holding (DPoP), a token only that key's holder can use
    (streamed ingest)."""
    client = await client_secrets.authenticate(session, client_id, client_secret, source)
    return await _sign(session, {
        "sub": client.client_id, "kind": PrincipalKind.client,
        "department": client.department, "roles": client.roles,
        **({"cnf": {"jkt": bound_to}} if bound_to else {}),
    }, ttl_seconds)


async def token_for_user(
    session: AsyncSession, username: str, password: str, ttl_seconds: int
) -> str:
    """A token for an enabled staff user whose password matches."""
    user = await session.get(User, username)
    stored = user.password_hash if user else _dummy_password_hash()
    # scrypt is deliberately slow: keep it off the event loop.
    matches = await asyncio.to_thread(credentials.password_matches, password, stored)
    if not matches or user is None:
        raise InvalidLogin("The user name or password is wrong.", reason=WRONG_CREDENTIALS)
    if user.disabled_at is not None:
        raise InvalidLogin("This user is disabled.", reason="disabled")
    return await _sign(session, {
        "sub": user.username, "kind": PrincipalKind.user,
        "department": user.department, "roles": user.roles,
    }, ttl_seconds)


async def _sign(session: AsyncSession, claims: dict[str, object], ttl_seconds: int) -> str:
    node = await require_local_node(session)
    key = await active_signing_key(session)
    if key is None:
        raise NodeNotInitialized("The node has no signing key; run `govshare node init`.")
    return issue_token(key, {**claims, "iss": node.id, "node": node.id}, ttl_seconds)
