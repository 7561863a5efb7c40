"""The local node: its identity and the keys it signs tokens with (G2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.exceptions import (
    NodeAlreadyInitialized,
    NodeIdentityFixed,
    NodeNotInitialized,
)
from services.authorization.models import (
    Client,
    Department,
    LinkInvitation,
    Node,
    SigningKeyRecord,
    User,
)
from services.authorization.schemas import NodeInit
from services.authorization.security_log import AT_THE_MACHINE, SecurityEventKind, record
from shared import sealing
from shared.contracts import NodeInitialized, Tier, Zone
from shared.outbox import Outbox
from shared.tokens import SigningKey, generate_signing_key

# What `govshare up` runs a node as before anyone has initialised it, so that `make run` needs
# no configuration. It stays a placeholder until `govshare node init`: not announced to the
# other services, and replaceable, id and all, as long as nothing else refers to the node.
PLACEHOLDER = NodeInit(name="govshare node", tier=Tier.national, region_code="100000",
                       zone=Zone.external)


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


async def ensure_local_node(session: AsyncSession, outbox: Outbox) -> tuple[Node, bool]:
    """The local node, made from PLACEHOLDER if there is none; and whether it is still the
    placeholder."""
    node = await local_node(session)
    if node is None:
        node, _, _ = await init_node(session, outbox, PLACEHOLDER, announce=False)
    return node, is_placeholder(node)


def is_placeholder(node: Node) -> bool:
    """Whether the node still has the identity `govshare up` gave it."""
    return _identity(node) == PLACEHOLDER


@dataclass(frozen=True)
class IdentityChange:
    """What initialising the local node again with other values would change."""

    current_id: str
    requested_id: str
    fields: tuple[tuple[str, str, str], ...]
    """(field, current value, requested value) for each value that differs, the id last."""
    placeholder: bool
    """The node still has the identity `govshare up` gave it."""
    in_use: tuple[str, ...]
    """What already refers to the node, e.g. "2 departments"; empty when nothing does."""

    @property
    def changes_id(self) -> bool:
        return self.current_id != self.requested_id

    @property
    def replaceable(self) -> bool:
        """Only a placeholder nothing refers to may take any identity, a new id included."""
        return self.placeholder and not self.in_use


async def identity_change(session: AsyncSession, node: Node, spec: NodeInit) -> IdentityChange:
    """How `spec` differs from the local `node`, and what stands in the way of changing it."""
    current, requested_id = _identity(node), node_id_for(spec.region_code, spec.zone)
    fields = [(name, str(getattr(current, name)), str(getattr(spec, name)))
              for name in ("name", "tier", "region_code", "zone")
              if getattr(current, name) != getattr(spec, name)]
    if node.id != requested_id:
        fields.append(("id", node.id, requested_id))
    return IdentityChange(node.id, requested_id, tuple(fields),
                          placeholder=is_placeholder(node), in_use=await _uses(session))


async def _uses(session: AsyncSession) -> tuple[str, ...]:
    # Everything that can happen on a node needs one of these first: a token needs a user, a
    # client or a linked node, and requests, grants, entries and data need departments.
    counted = {"department": select(func.count()).select_from(Department),
               "client": select(func.count()).select_from(Client),
               "user": select(func.count()).select_from(User),
               "linked node": select(func.count()).where(Node.relation.isnot(None)),
               "link invitation": select(func.count()).select_from(LinkInvitation)}
    uses = []
    for what, statement in counted.items():
        count = await session.scalar(statement) or 0
        if count:
            uses.append(f"{count} {what}{'' if count == 1 else 's'}")
    return tuple(uses)


async def init_node(
    session: AsyncSession, outbox: Outbox, spec: NodeInit, *, rotate_key: bool = False,
    reinitialize: bool = False, announce: bool = True,
) -> tuple[Node, SigningKey, bool]:
    """Create the local node, or change it as far as it may change; make a signing key if it
    has none or on rotation.

    An initialised node changes its name or tier only with `reinitialize`, and its id (its
    region and zone) never: departments, tokens, events, audit records and linked nodes carry
    it. Only the placeholder nothing refers to yet is replaced freely.
    Returns the node, its active key, and whether a new key was made.
    """
    node = await local_node(session)
    if node is None:
        node = Node(id=node_id_for(spec.region_code, spec.zone), is_local=True)
        session.add(node)
    else:
        change = await identity_change(session, node, spec)
        if change.fields and not change.replaceable:
            if change.changes_id:
                raise NodeIdentityFixed(change)
            if not reinitialize:
                raise NodeAlreadyInitialized(change)
        if change.changes_id:
            # The primary key changes in place: nothing refers to a replaceable node's id yet.
            # Its announcement comes from the new id, not the one it replaces.
            node.id = change.requested_id
            outbox = Outbox(node=node.id, service=outbox.source.service)
    node.name, node.tier, node.region_code, node.zone = (
        spec.name, spec.tier, spec.region_code, spec.zone
    )
    key = await active_signing_key(session)
    created = key is None or rotate_key
    if created:
        key = await _add_signing_key(session)
    assert key is not None
    await session.flush()
    if announce:
        await outbox.add(session, node.id, NodeInitialized(
            node_id=node.id, name=node.name, tier=spec.tier, region_code=node.region_code,
            zone=spec.zone, key_id=key.kid,
        ))
    return node, key, created


def _identity(node: Node) -> NodeInit:
    return NodeInit(name=node.name, tier=Tier(node.tier), region_code=node.region_code,
                    zone=Zone(node.zone))


async def _add_signing_key(session: AsyncSession) -> SigningKey:
    # Retire, not delete: tokens signed by the old key stay verifiable for a grace period.
    retired = await session.scalars(
        update(SigningKeyRecord)
        .where(SigningKeyRecord.retired_at.is_(None))
        .values(retired_at=datetime.now(UTC))
        .returning(SigningKeyRecord.kid)
    )
    key = generate_signing_key()
    session.add(SigningKeyRecord(kid=key.kid, private_pem=sealing.sealer().seal(
        key.private_pem, context=_sealing_context(key.kid))))
    # Only the node's operator makes keys, at its machine (`govshare node init`).
    record(session, AT_THE_MACHINE, SecurityEventKind.signing_key_rotated, target=key.kid,
           retired=list(retired))
    return key


def _sealing_context(kid: str) -> str:
    return f"authorization.signing_key:{kid}"


def _opened(kept: SigningKeyRecord) -> SigningKey:
    return SigningKey(kept.kid, sealing.sealer().open(kept.private_pem,
                                                      context=_sealing_context(kept.kid)))


# Only a sealed row is a key at all: one in plain can only have been written into the
# database by hand (the upgrade sealed those there were, migration 0008), and signing with
# it, or publishing it, would let whoever wrote it issue the node's tokens.
_SEALED = SigningKeyRecord.private_pem.startswith(f"{sealing.PREFIX}:")


async def reseal_signing_keys(session: AsyncSession) -> int:
    """Seal under the current key-encryption key every signing key an older one (a rotated
    KEK) sealed; how many."""
    sealer = sealing.sealer()
    kept_keys = [kept for kept in await session.scalars(
        select(SigningKeyRecord).where(_SEALED).with_for_update())
        if sealer.needs_resealing(kept.private_pem)]
    for kept in kept_keys:
        kept.private_pem = sealer.reseal(kept.private_pem, context=_sealing_context(kept.kid))
    return len(kept_keys)


async def active_signing_key(session: AsyncSession) -> SigningKey | None:
    """The newest unretired key, which signs every token the node issues."""
    record = await session.scalar(
        select(SigningKeyRecord)
        .where(SigningKeyRecord.retired_at.is_(None), _SEALED)
        .order_by(SigningKeyRecord.created_at.desc())
        .limit(1)
    )
    return _opened(record) if record else None


async def published_jwks(session: AsyncSession, grace: timedelta) -> dict[str, Any]:
    """The JWKS: the active key and keys retired less than `grace` ago."""
    cutoff = datetime.now(UTC) - grace
    records = await session.scalars(
        select(SigningKeyRecord).where(
            or_(SigningKeyRecord.retired_at.is_(None), SigningKeyRecord.retired_at > cutoff),
            _SEALED)
    )
    return {"keys": [_opened(kept).public_jwk() for kept in records]}
