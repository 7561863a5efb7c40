"""The audit chain's heads anchored on the parent node (E5, G2): what a child sends up, what
the parent keeps and countersigns, and the statement its node key signs.

A node's audit chain and checkpoints live in its own database, where an insider could
rewrite both consistently. Each sealed head therefore goes to the parent node, which keeps
it in its own database and countersigns it; a head the parent holds with another hash for
the same position is a rewrite, refused and kept as a conflict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from shared.contracts.values import Moment

AUDIT_ANCHOR_TYPE = "govshare-audit-anchor+jws"
"""The `typ` of the JWS in which a parent node states that it holds a child's head."""

CHAIN_HASH = r"^[0-9a-f]{64}$"
NODE_ID = r"^[0-9]{6}-(internal|external)$"
MAX_POSITION = 2**63 - 1  # a bigint, as the chain counts its positions


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a moment needs its offset, e.g. 2026-11-28T09:00:00+08:00")
    return moment


AwareMoment = Annotated[Moment, AfterValidator(_aware)]


class SealedHead(BaseModel):
    """The chain's head after one sealed batch, as the child's sealer recorded it."""

    position: int = Field(ge=1, le=MAX_POSITION, description="Chain position of the head.")
    hash: str = Field(pattern=CHAIN_HASH, description="The chain's hash at that position.")
    sealed_at: AwareMoment


class HeadsToAnchor(BaseModel):
    heads: list[SealedHead] = Field(min_length=1, max_length=500,
                                    description="In chain order, each position once.")

    @model_validator(mode="after")
    def _in_chain_order(self) -> HeadsToAnchor:
        positions = [head.position for head in self.heads]
        if positions != sorted(set(positions)):
            raise ValueError("heads go in increasing position, each position once")
        return self


class AnchoredHead(SealedHead):
    """A child's head as its parent holds it, with the parent's countersignature."""

    received_at: datetime
    countersignature: str = Field(description=f"JWS ({AUDIT_ANCHOR_TYPE}, ES256) by the "
                                              "parent node's key over the head.")


class AnchoredHeads(BaseModel):
    heads: list[AnchoredHead]
    next_after: int | None = Field(None, description="Give it as `after` for the next page; "
                                                     "none: this was the last.")


class AnchorStatement(SealedHead):
    """What the parent's node key signs: it holds this head of `node`'s chain, received
    then. The signing node adds itself as `iss`."""

    node: str = Field(pattern=NODE_ID, description="The child whose chain it is.")
    received_at: AwareMoment


class AnchorStatements(BaseModel):
    statements: list[AnchorStatement] = Field(min_length=1, max_length=500)


class Countersignatures(BaseModel):
    signatures: list[str] = Field(description="One JWS per statement, in their order.")
