"""The local node: its identity and the keys it signs tokens with (G2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import NodeNotInitialized
from services.authorization.models import Node, SigningKeyRecord
from services.authorization.schemas import NodeInit
from shared.contracts import NodeInitialized
from shared.outbox import Outbox
from shared.tokens import SigningKey, generate_signing_key


def node_id_for(region_code: str, zone: str) -> str:
    """A readable network-wide node id: one node per region and zone, e.g. 320100-external."""
    return f"{region_code}-{zone}"


async def local_node(session: AsyncSession) -> Node | None:
    """The local node, or None before `govshare node init`."""
    return await session.scalar(select(Node).where(Node.is_local))


async def require_local_node(session: AsyncSession) -> Node:
    node = await local_node(session)
    if node is None:
        raise NodeNotInitialized("Run `govshare node init` to initialise this node first.")
    return node


async def init_node(
    session: AsyncSession, outbox: Outbox, spec: NodeInit, *, rotate_key: bool = False
) -> tuple[Node, SigningKey, bool]:
    """Create or update the local node; make a signing key if it has none or on rotation.

    Returns the node, its active key, and whether a new key was made.
    """
    node = await local_node(session)
    if node is None:
        node = Node(id=node_id_for(spec.region_code, spec.zone), is_local=True)
        session.add(node)
    node.name, node.tier, node.region_code, node.zone = (
        spec.name, spec.tier, spec.region_code, spec.zone
    )
    key = await active_signing_key(session)
    created = key is None or rotate_key
    if created:
        key = await _add_signing_key(session)
    assert key is not None
    await session.flush()
    await outbox.add(session, node.id, NodeInitialized(
        node_id=node.id, name=node.name, tier=spec.tier, region_code=node.region_code,
        zone=spec.zone, key_id=key.kid,
    ))
    return node, key, created


async def _add_signing_key(session: AsyncSession) -> SigningKey:
    # Retire, not delete: tokens signed by the old key stay verifiable for a grace period.
    await session.execute(
        update(SigningKeyRecord)
        .where(SigningKeyRecord.retired_at.is_(None))
        .values(retired_at=datetime.now(UTC))
    )
    key = generate_signing_key()
    session.add(SigningKeyRecord(kid=key.kid, private_pem=key.private_pem))
    return key


async def active_signing_key(session: AsyncSession) -> SigningKey | None:
    """The newest unretired key, which signs every token the node issues."""
    record = await session.scalar(
        select(SigningKeyRecord)
        .where(SigningKeyRecord.retired_at.is_(None))
        .order_by(SigningKeyRecord.created_at.desc())
        .limit(1)
    )
    return SigningKey(record.kid, record.private_pem) if record else None


async def published_jwks(session: AsyncSession, grace: timedelta) -> dict[str, Any]:
    """The JWKS: the active key and keys retired less than `grace` ago."""
    cutoff = datetime.now(UTC) - grace
    records = await session.scalars(
        select(SigningKeyRecord).where(
            or_(SigningKeyRecord.retired_at.is_(None), SigningKeyRecord.retired_at > cutoff)
        )
    )
    return {"keys": [SigningKey(r.kid, r.private_pem).public_jwk() for r in records]}
