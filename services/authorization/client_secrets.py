"""Client secrets that expire and rotate, and the networks a client may call from (A7).

A secret is valid until its `secret_expires_at`. Rotating issues a new one; the replaced one
stops at once, or after an overlap the node admin chooses (at most a day) so that a system
can switch without a gap. A client may be held to allow-listed source networks: the token
endpoint refuses its credentials from anywhere else, the address being the one the gateway
saw the caller at (a caller's own X-Forwarded-For never reaches the service).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import credentials
from services.authorization.exceptions import (
    ClientAuthFailed,
    ClientNetworkRefused,
    ClientRevoked,
    ClientSecretExpired,
)
from services.authorization.models import Client
from services.authorization.security_log import (
    WRONG_CREDENTIALS,
    Actor,
    SecurityEventKind,
    record,
)
from shared import clock

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def issue(client: Client, *, valid_days: int, now: datetime) -> str:
    """Give the client a new secret valid for `valid_days`; the secret is returned once."""
    secret = credentials.new_client_secret()
    client.secret_hash = credentials.hash_client_secret(secret)
    client.secret_expires_at = now + timedelta(days=valid_days)
    return secret


def rotate(session: AsyncSession, actor: Actor, client: Client, *, valid_days: int,
           old_secret_valid_seconds: int) -> str:
    """Replace the client's secret; the old one works `old_secret_valid_seconds` longer."""
    if client.revoked_at is not None:
        raise ClientRevoked(f"Client {client.client_id} was revoked: it gets no new secret.")
    now = clock.now()
    overlap = timedelta(seconds=old_secret_valid_seconds)
    client.previous_secret_hash = client.secret_hash if overlap else None
    client.previous_secret_expires_at = now + overlap if overlap else None
    secret = issue(client, valid_days=valid_days, now=now)
    record(session, actor, SecurityEventKind.client_secret_rotated, target=client.client_id,
           old_secret_valid_until=(now + overlap).isoformat(),
           secret_expires_at=client.secret_expires_at.isoformat())
    return secret


def restrict(session: AsyncSession, actor: Actor, client: Client,
             networks: Sequence[Network]) -> None:
    """Hold the client to `networks` (none: anywhere)."""
    before = list(client.allowed_networks or [])
    client.allowed_networks = [str(network) for network in networks]
    record(session, actor, SecurityEventKind.client_networks_changed, target=client.client_id,
           before=before, after=client.allowed_networks)


async def authenticate(session: AsyncSession, client_id: str, secret: str,
                       source: str | None) -> Client:
    """The client whose id and secret these are, if its rules let it have a token now and
    from `source`; checked in this order so that only the holder of a right secret learns
    why it is refused."""
    client = await session.get(Client, client_id)
    if client is None:
        raise ClientAuthFailed("The client id or secret is wrong.", reason=WRONG_CREDENTIALS)
    now = clock.now()
    if credentials.client_secret_matches(secret, client.secret_hash):
        expires_at = client.secret_expires_at
        reason = "secret_expired"
    elif client.previous_secret_hash is not None and credentials.client_secret_matches(
            secret, client.previous_secret_hash):
        expires_at = client.previous_secret_expires_at or now
        reason = "secret_rotated"
    else:
        raise ClientAuthFailed("The client id or secret is wrong.", reason=WRONG_CREDENTIALS)
    if client.revoked_at is not None:
        raise ClientAuthFailed(f"These client credentials were revoked: {client.revoked_reason}.",
                            reason="revoked")
    if expires_at <= now:
        raise ClientSecretExpired(
            f"This client secret {'was replaced' if reason == 'secret_rotated' else 'expired'} "
            f"at {expires_at.isoformat(timespec='seconds')}: ask the node admin for the "
            "client's current secret.", reason=reason)
    if not _within(source, client.allowed_networks):
        raise ClientNetworkRefused(
            f"Client {client.client_id} may get tokens only from its allow-listed networks, "
            f"not from {source or 'an unknown address'}.", reason="source_network")
    return client


def _within(source: str | None, networks: Sequence[str] | None) -> bool:
    if not networks:
        return True
    if source is None:
        return False
    address = ipaddress.ip_address(source)
    return any(address in ipaddress.ip_network(network) for network in networks)
