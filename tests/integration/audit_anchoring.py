"""Helpers for the audit anchoring tests (E5): reading a node's verification, rewriting a
node's chain as an insider with its database would, and putting it back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.exchange.audit import GENESIS, SEAL_LOCK, entry_hash
from services.exchange.models import AuditEntry
from tests.integration.conftest import bearer

VERIFICATION = "/api/exchange/audit/verification"


async def verified(client: httpx.AsyncClient, token: str,
                   until: Callable[[dict[str, Any]], bool], seconds: float = 45
                   ) -> dict[str, Any]:
    """The node's verification report, once `until` holds for it."""
    async with asyncio.timeout(seconds):
        while True:
            response = await client.get(VERIFICATION, headers=bearer(token))
            assert response.status_code == 200, response.text
            if until(report := response.json()):
                return report
            await asyncio.sleep(0.2)


@dataclass
class Rewrite:
    entries: list[dict[str, Any]]  # id, record_count, prev_hash, hash as they were
    checkpoints: dict[int, str]  # position: hash as it was


async def rewrite_chain(engine: AsyncEngine, entry_id: int) -> Rewrite:
    """Change one sealed entry (its record count), then recompute every hash after it and
    every checkpoint, holding off the sealer: the chain fits together again, in SQL alone."""
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SEAL_LOCK})
        rows = [dict(row) for row in (await connection.execute(text(
            "SELECT * FROM audit_entry WHERE position IS NOT NULL ORDER BY position")))
            .mappings()]
        checkpoints = dict((await connection.execute(text(
            "SELECT position, hash FROM audit_checkpoint"))).all())
        prev = GENESIS
        for row in rows:
            if row["id"] == entry_id:
                row = {**row, "record_count": row["record_count"] + 1000}
            digest = entry_hash(AuditEntry(**row), row["position"], prev)
            await connection.execute(text(
                "UPDATE audit_entry SET record_count = :count, prev_hash = :prev, hash = :hash "
                "WHERE id = :id"),
                {"count": row["record_count"], "prev": prev, "hash": digest, "id": row["id"]})
            await connection.execute(text(
                "UPDATE audit_checkpoint SET hash = :hash WHERE position = :position"),
                {"hash": digest, "position": row["position"]})
            prev = digest
    return Rewrite([{key: row[key] for key in ("id", "record_count", "prev_hash", "hash")}
                    for row in rows], checkpoints)


async def restore(engine: AsyncEngine, rewrite: Rewrite) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SEAL_LOCK})
        await connection.execute(text(
            "UPDATE audit_entry SET record_count = :record_count, prev_hash = :prev_hash, "
            "hash = :hash WHERE id = :id"), rewrite.entries)
        await connection.execute(text(
            "UPDATE audit_checkpoint SET hash = :hash WHERE position = :position"),
            [{"position": position, "hash": digest}
             for position, digest in rewrite.checkpoints.items()])


async def node_token(authorization_url: str, audience: str) -> str:
    """A node token of the node whose identity service is at `authorization_url`, as its
    own services get one (the node's internal network)."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{authorization_url}/internal/node-tokens",
                                     json={"audience": audience})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
