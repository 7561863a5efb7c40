"""The audit log (E5): every access appended, then sealed into a hash chain.

Entries are appended concurrently (online queries group-commit theirs). A sealer (one at a
time, under an advisory lock) takes the unsealed entries in id order, gives each the next
chain position and `hash = sha256(prev_hash + canonical entry)`, records a checkpoint of
the new head and announces it by event, so the head also lives outside this database.
Verification recomputes the chain: an edited, deleted or reordered entry breaks it there,
and a chain cut short falls behind its last checkpoint.
Sealing lags appends by the seal interval; `unsealed` in the verification report shows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy import Row, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from services.exchange.metrics import audit_appends
from services.exchange.models import AuditCheckpoint, AuditEntry
from shared import clock
from shared.contracts.exchange import AccessKind, AuditSealed, UsageCount
from shared.db import transaction
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.tokens import TokenClaims
from shared.workdays import china_date

GENESIS = "0" * 64
SEAL_LOCK = 0x6A75_6469_7431  # pg advisory lock id of the sealer
SEAL_BATCH = 5000


@dataclass(frozen=True)
class Access:
    """What one access touched; the audit entry records it with who and where."""

    kind: AccessKind
    consumer: str
    provider: str
    entry_code: str
    grant_id: uuid.UUID | None
    purpose: str | None
    items: Sequence[str]
    record_count: int
    denied: str | None = None
    subject_key: str | None = None  # whose record a query looked up (`subject_keys`)
    route: Sequence[str] | None = None  # a call from another node: the nodes it came by (F5)


def route_of(principal: TokenClaims) -> list[str] | None:
    """The nodes a department's call from another node came through, origin first; None
    for a call made on this node."""
    return list(principal.path) if principal.path else None


def record(session: AsyncSession, access: Access, *, actor: str, node: str) -> AuditEntry:
    """Append the access in the caller's transaction."""
    entry = AuditEntry(kind=access.kind, consumer=access.consumer, provider=access.provider,
                       entry_code=access.entry_code, grant_id=access.grant_id,
                       purpose=access.purpose, items=list(access.items),
                       record_count=access.record_count, denied=access.denied, actor=actor,
                       node=node, at=clock.now(), subject_key=access.subject_key,
                       route=list(access.route) if access.route else None)
    session.add(entry)
    session.info.setdefault(_APPENDS_ON_COMMIT, Counter())[access.kind.value] += 1
    return entry


async def record_many(session: AsyncSession,
                      accesses: Sequence[tuple[Access, str, str]]) -> None:
    """Append (access, actor, node) triples in the caller's transaction: one statement for
    all, no object each (the consumer's end of relayed calls arrives in batches)."""
    connection = (await (await session.connection()).get_raw_connection()).driver_connection
    await connection.executemany(INSERT, [_row(access, actor, node)
                                          for access, actor, node in accesses])
    appends = session.info.setdefault(_APPENDS_ON_COMMIT, Counter())
    for access, _, _ in accesses:
        appends[access.kind.value] += 1


_APPENDS_ON_COMMIT = "audit_appends_on_commit"


@event.listens_for(Session, "after_commit")
def _count_committed_appends(session: Session) -> None:
    """Appends count once their transaction commits (a rolled-back one never happened)."""
    for kind, appended in session.info.pop(_APPENDS_ON_COMMIT, Counter()).items():
        audit_appends.labels(kind).inc(appended)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_appends(session: Session) -> None:
    session.info.pop(_APPENDS_ON_COMMIT, None)


INSERT = """
    INSERT INTO audit_entry (kind, consumer, provider, entry_code, grant_id, purpose, items,
                             record_count, denied, actor, node, at, subject_key, route)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""


class GroupWriter:
    """Group commit for the query path: accesses that arrive while an insert is under way
    share the next one, so a burst of queries costs one round trip and one WAL flush instead
    of one each. Each caller still waits until its own entry is committed: no data leaves
    before its audit entry is durable."""

    def __init__(self, pool: Callable[[], Awaitable[asyncpg.Pool]], node: str) -> None:
        self.pool, self.node = pool, node
        self._waiting: list[tuple[tuple[object, ...], asyncio.Future[None]]] = []
        self._writing = False
        self._writer: asyncio.Task[None] | None = None

    async def append(self, access: Access, *, actor: str) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((_row(access, actor, self.node), done))
        if not self._writing:
            self._writing = True
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    async with (await self.pool()).acquire() as connection:
                        await connection.executemany(INSERT, [row for row, _ in batch])
                except Exception as error:
                    for _, done in batch:
                        done.set_exception(error)
                else:
                    for row, done in batch:
                        audit_appends.labels(row[0]).inc()
                        done.set_result(None)
        finally:
            self._writing = False


def _row(access: Access, actor: str, node: str) -> tuple[object, ...]:
    return (access.kind.value, access.consumer, access.provider, access.entry_code,
            access.grant_id, access.purpose, list(access.items), access.record_count,
            access.denied, actor, node, clock.now(), access.subject_key,
            list(access.route) if access.route else None)


async def record_now(sessions: async_sessionmaker[AsyncSession], access: Access, *,
                     actor: str, node: str) -> None:
    """Append the access in a transaction of its own (a refusal is kept though the call
    fails, a download's end though the stream is over)."""
    async with transaction(sessions) as session:
        record(session, access, actor=actor, node=node)


SEAL = text("""
    UPDATE audit_entry SET position = sealed.position, prev_hash = sealed.prev_hash,
                           hash = sealed.hash
    FROM unnest(CAST(:ids AS bigint[]), CAST(:positions AS bigint[]),
                CAST(:previous AS text[]), CAST(:hashes AS text[]))
         AS sealed(id, position, prev_hash, hash)
    WHERE audit_entry.id = sealed.id
""")


def entry_hash(entry: AuditEntry | Row[Any], position: int, prev_hash: str) -> str:
    canonical = json.dumps({
        "position": position, "id": entry.id, "kind": entry.kind, "consumer": entry.consumer,
        "provider": entry.provider, "entry_code": entry.entry_code,
        "grant_id": str(entry.grant_id) if entry.grant_id else None, "purpose": entry.purpose,
        "items": list(entry.items), "record_count": entry.record_count, "denied": entry.denied,
        "actor": entry.actor, "node": entry.node,
        "at": entry.at.astimezone(UTC).isoformat(),
        # Only where there is one, so entries chained before it was recorded keep their hash.
        **({"subject_key": entry.subject_key} if entry.subject_key else {}),
        **({"route": list(entry.route)} if entry.route else {}),
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


async def seal(sessions: async_sessionmaker[AsyncSession], outbox: Outbox,
               batch: int = SEAL_BATCH) -> int:
    """Seal the next batch of unsealed entries; 0 if another replica is sealing."""
    async with transaction(sessions) as session:
        if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"),
                                    {"id": SEAL_LOCK}):
            return 0
        head = (await session.execute(
            select(AuditEntry.position, AuditEntry.hash).where(AuditEntry.position.isnot(None))
            .order_by(AuditEntry.position.desc()).limit(1))).first()
        position, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
        # Rows, not objects, and one UPDATE for the batch: sealing runs on the event loop
        # that answers queries, and a batch is a half second of them.
        entries = (await session.execute(
            select(AuditEntry.__table__).where(AuditEntry.position.is_(None))
            .order_by(AuditEntry.id).limit(batch))).all()
        if not entries:
            return 0
        first = position + 1
        positions, previous, hashes = [], [], []
        for entry in entries:
            position += 1
            digest = entry_hash(entry, position, prev_hash)
            positions.append(position)
            previous.append(prev_hash)
            hashes.append(digest)
            prev_hash = digest
        await session.execute(SEAL, {"ids": [entry.id for entry in entries],
                                     "positions": positions, "previous": previous,
                                     "hashes": hashes})
        session.add(AuditCheckpoint(position=position, hash=prev_hash))
        await outbox.add(session, "audit", AuditSealed(
            first_position=first, last_position=position, head_hash=prev_hash,
            usage=_usage(entries), sealed_at=clock.now()))
        return len(entries)


def _usage(entries: Sequence[Row[Any]]) -> list[UsageCount]:
    accesses: Counter[tuple[str, ...]] = Counter()
    records: Counter[tuple[str, ...]] = Counter()
    for entry in entries:
        if entry.kind == AccessKind.ingest:
            continue  # a refused sender used no one's data, and may have named anyone
        group = (entry.consumer, entry.provider, entry.entry_code, entry.kind,
                 entry.purpose or "", entry.denied or "", entry.actor,
                 china_date(entry.at).isoformat())
        accesses[group] += 1
        records[group] += entry.record_count
    return [UsageCount(consumer=g[0], provider=g[1], entry_code=g[2], kind=AccessKind(g[3]),
                       purpose=g[4] or None, denied=g[5] or None, accesses=count,
                       records=records[g], actor=g[6], day=date.fromisoformat(g[7]))
            for g, count in sorted(accesses.items())]


@dataclass(frozen=True)
class Verification:
    valid: bool
    sealed: int
    unsealed: int
    head_hash: str
    broken_at_position: int | None = None
    broken_entry_id: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession) -> Verification:
    """Recompute the whole chain in order; report the first entry that does not fit, and a
    chain that ends before the last checkpoint (its newest entries were deleted)."""
    checkpoints = dict((await session.execute(
        select(AuditCheckpoint.position, AuditCheckpoint.hash))).tuples().all())
    prev_hash, expected_position, count = GENESIS, 1, 0
    rows = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.position.isnot(None))
        .order_by(AuditEntry.position).execution_options(yield_per=5000))
    async for entry in rows:
        problem = None
        if entry.position != expected_position:
            problem = f"position {expected_position} is missing (an entry was deleted)"
        elif entry.prev_hash != prev_hash:
            problem = "the link to the previous entry does not match"
        elif entry.hash != entry_hash(entry, entry.position, prev_hash):
            problem = "the entry's content does not match its hash (it was edited)"
        elif checkpoints.get(entry.position, entry.hash) != entry.hash:
            problem = "the chain differs from the checkpoint sealed at this position"
        if problem:
            await rows.close()
            return Verification(False, count, await _unsealed(session), prev_hash,
                                expected_position, entry.id, problem)
        prev_hash, expected_position, count = entry.hash, expected_position + 1, count + 1
    unsealed = await _unsealed(session)
    if checkpoints and max(checkpoints) > count:
        return Verification(False, count, unsealed, prev_hash, count + 1, None,
                            f"the chain ends at position {count} but was sealed up to "
                            f"{max(checkpoints)} (its newest entries were deleted)")
    return Verification(True, count, unsealed, prev_hash)


async def _unsealed(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.position.is_(None))) or 0)


async def search(session: AsyncSession, page: PageParams, *, party: str | None,
                 consumer: str | None, provider: str | None, entry_code: str | None,
                 kind: AccessKind | None, since: datetime | None, until: datetime | None,
                 subject_keys: Collection[str] = ()) -> tuple[list[AuditEntry], int]:
    """Entries by who, whose, what and when, and whose record they looked up (any of
    `subject_keys`); `party` limits to one department's."""
    query = select(AuditEntry)
    if subject_keys:
        query = query.where(AuditEntry.subject_key.in_(subject_keys))
    if party:
        query = query.where((AuditEntry.consumer == party) | (AuditEntry.provider == party))
    for column, value in ((AuditEntry.consumer, consumer), (AuditEntry.provider, provider),
                          (AuditEntry.entry_code, entry_code), (AuditEntry.kind, kind)):
        if value:
            query = query.where(column == value)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return await fetch_page(session, query.order_by(AuditEntry.id.desc()), page)
