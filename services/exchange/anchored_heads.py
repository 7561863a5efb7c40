"""The parent's side of audit anchoring (E5, G2): children's heads, kept and countersigned.

A linked child sends each head of its audit chain here with its node token. The parent
keeps it in its own database (`anchored_head`), has its node key sign that it holds it,
and answers the countersignature. A position it already holds with the same hash is
answered again; with another hash the child's chain was rewritten: that head (and those
after it in the batch) is refused and the offer kept as a conflict for the auditors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange.exceptions import HeadRewritten
from services.exchange.models import AnchorConflict, AnchoredHead
from shared import clock
from shared.contracts import NodeRelation
from shared.contracts.anchoring import (
    AnchoredHead as AnchoredHeadView,
)
from shared.contracts.anchoring import (
    AnchorStatement,
    AnchorStatements,
    Countersignatures,
    SealedHead,
)
from shared.db import transaction
from shared.linked_nodes import LinkedNodeDirectory, LinkedNodeTokens

log = logging.getLogger(__name__)


async def calling_child(tokens: LinkedNodeTokens, nodes: LinkedNodeDirectory,
                        token: str) -> str:
    """The id of the linked child whose node token this is (401/403 otherwise)."""

    async def jwks_of_child(node_id: str) -> str | None:
        node = await nodes.get(node_id)
        return node["jwks_url"] if node and node["relation"] == NodeRelation.child else None

    return (await tokens.verify(token, jwks_of_child)).iss


@dataclass(frozen=True)
class Countersigner:
    """This node's signature, from its identity service (which alone holds the key)."""

    http: httpx.AsyncClient
    identity_url: str

    async def sign(self, statements: list[AnchorStatement]) -> list[str]:
        response = await self.http.post(
            f"{self.identity_url.rstrip('/')}/internal/audit-anchor-signatures",
            json=AnchorStatements(statements=statements).model_dump(mode="json"))
        response.raise_for_status()
        return Countersignatures.model_validate(response.json()).signatures


async def anchor(sessions: async_sessionmaker[AsyncSession], signer: Countersigner,
                 child: str, heads: list[SealedHead]) -> list[AnchoredHeadView]:
    """Keep and countersign the child's heads; HeadRewritten, the conflict kept, if one
    differs from what is held for its position."""
    heads = sorted(heads, key=lambda head: head.position)
    async with transaction(sessions) as session:
        held = await _held(session, child, heads)
        refused = _first_refused(heads, held)
        fresh = [head for head in heads if head.position not in held
                 and (refused is None or head.position < refused.position)]
        if fresh:
            received_at = clock.now()
            statements = [AnchorStatement(node=child, received_at=received_at,
                                          **head.model_dump()) for head in fresh]
            signatures = await signer.sign(statements)
            await session.execute(insert(AnchoredHead).values([
                {"node": child, "position": head.position, "hash": head.hash,
                 "sealed_at": head.sealed_at, "received_at": received_at,
                 "countersignature": signature}
                for head, signature in zip(fresh, signatures, strict=True)])
                .on_conflict_do_nothing())
            held = await _held(session, child, heads)  # what is held now, whoever wrote it
            refused = _first_refused(heads, held)
        if refused is not None:
            await _keep_conflict(session, child, refused, held[refused.position])
    if refused is not None:
        log.error("a child offered another hash for an anchored position of its audit chain",
                  extra={"child": child, "position": refused.position})
        raise HeadRewritten(
            f"{child}'s audit chain had another hash at position {refused.position} when it "
            f"was anchored here: the chain was rewritten. Refused and kept as a conflict.",
            position=refused.position, held_hash=held[refused.position].hash)
    return [_view(held[head.position]) for head in heads]


def _first_refused(heads: list[SealedHead], held: dict[int, AnchoredHead]) -> SealedHead | None:
    return next((head for head in heads
                 if head.position in held and held[head.position].hash != head.hash), None)


async def _held(session: AsyncSession, child: str,
                heads: list[SealedHead]) -> dict[int, AnchoredHead]:
    rows = await session.scalars(select(AnchoredHead).where(
        AnchoredHead.node == child,
        AnchoredHead.position.in_([head.position for head in heads])))
    return {row.position: row for row in rows}


async def _keep_conflict(session: AsyncSession, child: str, offered: SealedHead,
                         held: AnchoredHead) -> None:
    now = clock.now()
    statement = insert(AnchorConflict).values(
        node=child, position=offered.position, held_hash=held.hash, offered_hash=offered.hash,
        offered_sealed_at=offered.sealed_at, first_at=now, last_at=now, attempts=1)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[AnchorConflict.node, AnchorConflict.position,
                        AnchorConflict.offered_hash],
        set_={"last_at": now, "attempts": AnchorConflict.attempts + 1}))


async def heads_of(session: AsyncSession, child: str, *, after: int,
                   limit: int) -> tuple[list[AnchoredHeadView], int | None]:
    """The child's heads held here after position `after`, and where the next page starts."""
    rows = list(await session.scalars(
        select(AnchoredHead).where(AnchoredHead.node == child, AnchoredHead.position > after)
        .order_by(AnchoredHead.position).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return [_view(row) for row in rows], rows[-1].position if more else None


def _view(row: AnchoredHead) -> AnchoredHeadView:
    return AnchoredHeadView(position=row.position, hash=row.hash, sealed_at=row.sealed_at,
                            received_at=row.received_at,
                            countersignature=row.countersignature)
