"""Resource codes (信息资源代码): front segment from the classification + `/` + six digits.

The back segment counts per front segment, not per provider: two providers cataloguing in
the same class would otherwise be handed the same code. The counter only grows, so a code
is never reused, not even after its entry is withdrawn.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.catalog import Classification

_NEXT = text(
    "insert into code_sequence (front_segment, last_value) values (:front, 1) "
    "on conflict (front_segment) do update set last_value = code_sequence.last_value + 1 "
    "returning last_value"
)


async def assign_code(session: AsyncSession, classification: Classification) -> str:
    """Take the next number for the classification; concurrent callers get distinct ones."""
    front = classification.front_segment
    number = await session.scalar(_NEXT, {"front": front})
    return f"{front}/{int(number or 0):06d}"
