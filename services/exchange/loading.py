"""Getting data into the front-end store (前置机, E1): streamed bulk loads and the ingest topic.

A load reads the body as it arrives, line by line, so a file of a million rows is never held
in memory; rows are checked against the entry's items and upserted by its key items in
batches, each batch its own transaction, which also adds the batch's figures, refusals and
last line to the load's record. So a load cut short, even by kill -9, has stored whole
batches and says exactly which: it is closed as `interrupted` (by its own process, or by the
next to start, `close_cut_loads`) and resumes after its last committed line (`?resume=`). A
load repeated changes nothing (upserts; unchanged rows keep their place in the change feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as _json_string
from typing import Any

import asyncpg
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.exchange.copy_format import STORED_COLUMNS, stored_rows
from services.exchange.exceptions import BadUpload, LoadNotFound, LoadNotResumable
from services.exchange.models import Load, Resource
from services.exchange.upload_rows import Block, Cleaned, Row, upload_body
from services.exchange.validation import RowRejected, RowValidator
from shared import clock
from shared.contracts.exchange import IngestRecord, IngestRefusal, IngestRejected, RecordsLoaded
from shared.db import transaction
from shared.outbox import Outbox

log = logging.getLogger(__name__)

BATCH_ROWS = 2000
YIELD_ROWS = 500
REPORTED_REJECTIONS = 1000

UPSERT = text("""
    INSERT INTO record (entry_code, key, data, deleted, updated_at)
    SELECT :entry_code, k, d::jsonb, false, CAST(:now AS timestamptz)
    FROM unnest(CAST(:keys AS text[]), CAST(:data AS text[])) AS t(k, d)
    ON CONFLICT (entry_code, key) DO UPDATE
    SET data = EXCLUDED.data, seq = nextval('record_seq'), deleted = false,
        updated_at = EXCLUDED.updated_at
    WHERE record.data IS DISTINCT FROM EXCLUDED.data OR record.deleted
""")
DELETE = text("""
    UPDATE record SET deleted = true, seq = nextval('record_seq'),
        updated_at = CAST(:now AS timestamptz)
    WHERE entry_code = :entry_code AND key = :key AND NOT deleted
""")


@dataclass
class Batch:
    """The rows and refusals read since the last committed batch, stored together with it:
    a batch's refusals survive exactly when its rows do."""

    rows: dict[str, str] = field(default_factory=dict)  # key → the values as stored (JSON)
    accepted: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    last_line: int = 0

    def reject(self, line: int, reason: str, *, reportable: bool) -> None:
        self.rejected += 1
        if reportable:
            self.rejections.append({"line": line, "reason": reason})


@dataclass
class Run:
    """One run of a load (the first, or a resume): what it has committed and what it reads."""

    load: Load
    resource: Resource
    skip_through: int  # lines stored by an earlier run of the load, not read again
    reported: int  # refusals the load's report holds, at most REPORTED_REJECTIONS
    accepted: int = 0
    rejected: int = 0
    batch: Batch = field(default_factory=Batch)
    copying: bool = True  # until a batch meets a key the entry already holds (`_store`)

    def read(self, block: Block, clean: Callable[[Row], Cleaned | None]) -> None:
        """Clean the block's rows into the batch (those past the lines stored before)."""
        batch, skip_through = self.batch, self.skip_through
        rows = batch.rows
        for line, row in enumerate(block.rows, block.first):
            if row is None or line <= skip_through:
                continue
            if isinstance(row, RowRejected):
                self.reject(line, str(row))
                continue
            try:
                cleaned = clean(row)
            except RowRejected as refused:
                self.reject(line, str(refused))
                continue
            if cleaned is not None:
                rows[cleaned[0]] = json_object(cleaned[1])
                batch.accepted += 1
        if block.rows and block.last > skip_through:
            batch.last_line = block.last

    def reject(self, line: int, reason: str) -> None:
        reportable = self.reported < REPORTED_REJECTIONS
        if reportable:
            self.reported += 1
        self.batch.reject(line, reason, reportable=reportable)

    def cut(self) -> Batch:
        """The batch to write now; a new one collects what follows."""
        batch, self.batch = self.batch, Batch(last_line=self.batch.last_line)
        return batch


def validator_for(resource: Resource) -> RowValidator:
    if not resource.key_items:
        raise BadUpload(f"Entry {resource.code} declares no item that identifies the subject; "
                        "records cannot be keyed.", field="entry_code")
    return RowValidator(resource.items, resource.key_items)


def _lock_key(load_id: uuid.UUID) -> dict[str, str]:
    return {"name": f"govshare.record_load.{load_id}"}


TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")
TRY_XACT_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")


@asynccontextmanager
async def running(engine: AsyncEngine, load_id: uuid.UUID) -> AsyncIterator[bool]:
    """Hold the load's lock for as long as this process runs it; yields False when another
    run holds it. The lock lives in a session of its own, which PostgreSQL ends with the
    process however it ends: a `running` load whose lock is free was cut short
    (`close_cut_loads`). Taken before the load is written, so it is never seen unlocked."""
    async with engine.connect() as connection:
        held = bool(await connection.scalar(TRY_LOCK, _lock_key(load_id)))
        await connection.commit()  # the lock outlives the transaction; the session idles
        try:
            yield held
        finally:
            if held:
                await _unlock(connection, load_id)


async def _unlock(connection: AsyncConnection, load_id: uuid.UUID) -> None:
    try:
        await connection.scalar(UNLOCK, _lock_key(load_id))
        await connection.commit()
    except Exception:
        # A session that cannot unlock must not go back to the pool still holding it.
        await connection.invalidate()


async def resume(session: AsyncSession, load_id: uuid.UUID, resource: Resource,
                 media_type: str, department: str | None) -> Load:
    """Take up a load that was cut short (its lock held by the caller): it runs again, from
    the line after its last committed one."""
    load = await session.get(Load, load_id, with_for_update=True)
    if load is None or load.provider != department or load.entry_code != resource.code:
        raise LoadNotFound(f"No load {load_id} of your department into {resource.code}.")
    if load.status not in ("interrupted", "running"):  # running: its process died unnoticed
        raise LoadNotResumable(f"Load {load_id} is {load.status}; only an interrupted load "
                               "resumes (send the file again without resume).")
    if load.media_type != media_type:
        raise LoadNotResumable(f"Load {load_id} was {load.media_type}; resume it with the "
                               "same file.")
    load.status, load.finished_at = "running", None
    return load


async def load_stream(sessions: async_sessionmaker[AsyncSession], outbox: Outbox,
                      load: Load, resource: Resource, body: AsyncIterator[bytes]) -> Load:
    """Read `body` (CSV with a header row, or JSON Lines) into the store, batch by batch,
    each with its refusals and the load's figures in one transaction; a resumed load skips
    the lines it stored before. The load ends completed, refused or interrupted."""
    reader = upload_body(load.media_type, validator_for(resource))
    run = Run(load, resource, skip_through=load.last_line, reported=len(load.rejections))
    writing: asyncio.Task[None] | None = None  # the previous batch, written while we parse
    try:
        async for block in reader.blocks(body):
            for part in block.slices(YIELD_ROWS):
                run.read(part, reader.clean)
                if len(run.batch.rows) >= BATCH_ROWS:
                    if writing:
                        await writing
                    writing = asyncio.create_task(_write(sessions, run, run.cut()))
                # A body already received is read without a pause: pause here, or the batch
                # being written waits for its every round trip until the next is read, and
                # reading and writing no longer overlap.
                await asyncio.sleep(0)
        if writing:
            await writing
        await _write(sessions, run, run.cut(), finish=outbox)
    except BadUpload:
        # A resume with a wrong header leaves the load as it was: interrupted, resumable.
        await _cancel(writing)
        await _close(sessions, outbox, run, "interrupted" if run.skip_through else "refused")
        raise
    except BaseException:
        log.exception("load interrupted", extra={"load": str(load.id)})
        await _cancel(writing)
        await _close(sessions, outbox, run, "interrupted")
        raise
    await _refresh(sessions, load)
    return load


async def _cancel(writing: asyncio.Task[None] | None) -> None:
    """Stop the batch being written: it commits whole or not at all, and the load's figures
    go with it, so whichever it was they stay true."""
    if writing and not writing.done():
        writing.cancel()
    if writing:
        with contextlib.suppress(BaseException):
            await writing


LOAD_PROGRESS = text("""
    UPDATE record_load SET accepted = accepted + :accepted, rejected = rejected + :rejected,
        rejections = rejections || CAST(:rejections AS jsonb),
        last_line = greatest(last_line, :last_line), committed_at = CAST(:now AS timestamptz)
    WHERE id = :id
""")


async def _write(sessions: async_sessionmaker[AsyncSession], run: Run, batch: Batch,
                 finish: Outbox | None = None) -> None:
    """Store one batch: its rows, and its figures and refusals on the load, in one
    transaction; with `finish`, the last batch also completes the load and says so."""
    now = clock.now()
    async with transaction(sessions) as session:
        # First, so the transaction has begun when `_store` uses the driver's connection.
        await session.execute(LOAD_PROGRESS, {
            "id": run.load.id, "accepted": batch.accepted, "rejected": batch.rejected,
            "rejections": json.dumps(batch.rejections, ensure_ascii=False),
            "last_line": batch.last_line, "now": now})
        if batch.rows:
            await _store(session, run, batch.rows, now)
            # Stored rows are data on the platform, whether or not the load completes.
            await session.execute(update(Resource).where(Resource.code == run.resource.code)
                                  .values(last_loaded_at=now, stale_since=None))
        if finish is not None:
            await session.execute(update(Load).where(Load.id == run.load.id)
                                  .values(status="completed", finished_at=now))
            await _say_loaded(session, finish, run.resource.code, run.resource.provider,
                              run.accepted + batch.accepted, run.rejected + batch.rejected,
                              now)
    run.accepted += batch.accepted
    run.rejected += batch.rejected


def json_object(values: dict[str, str]) -> str:
    """A row's cleaned values as the JSON text the store keeps (a third of what json.dumps
    costs, called once for every row loaded: the values are all text)."""
    return "{" + ", ".join([_json_string(code) + ": " + _json_string(value)
                            for code, value in values.items()]) + "}"


async def _store(session: AsyncSession, run: Run, rows: dict[str, str],
                 now: datetime) -> None:
    """Write the rows, in the session's transaction: copied in while the entry holds none of
    the run's keys (the first load of an entry, rows added to it), upserted from the first
    batch that meets a key already stored. A copy costs PostgreSQL far less than an upsert,
    and one that meets a stored key fails at once and is undone alone (a savepoint)."""
    if run.copying:
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        try:
            async with driver.transaction():
                await driver.copy_to_table(
                    "record", columns=STORED_COLUMNS, format="binary",
                    source=_once(stored_rows(run.resource.code, rows, now)))
            return
        except asyncpg.UniqueViolationError:
            run.copying = False
    await session.execute(UPSERT, {"entry_code": run.resource.code, "keys": list(rows),
                                   "data": list(rows.values()), "now": now})


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _close(sessions: async_sessionmaker[AsyncSession], outbox: Outbox, run: Run,
                 status: str) -> None:
    """End a run that did not complete, keeping what its batches stored."""
    with contextlib.suppress(Exception):  # the database away: the closing job does it later
        now = clock.now()
        async with transaction(sessions) as session:
            closed = await session.scalar(
                update(Load).where(Load.id == run.load.id, Load.status == "running")
                .values(status=status, finished_at=now).returning(Load.committed_at))
            if run.accepted or run.rejected:
                await _say_loaded(session, outbox, run.resource.code, run.resource.provider,
                                  run.accepted, run.rejected, closed or now)
        await _refresh(sessions, run.load)


async def _refresh(sessions: async_sessionmaker[AsyncSession], load: Load) -> None:
    """Bring the caller's copy of the load up to what is stored (the answer shows it)."""
    async with sessions() as session:
        stored = await session.get(Load, load.id)
        if stored is not None:
            for column in Load.__table__.columns.keys():
                setattr(load, column, getattr(stored, column))


async def _say_loaded(session: AsyncSession, outbox: Outbox, entry_code: str, provider: str,
                      accepted: int, rejected: int, loaded_at: datetime) -> None:
    await outbox.add(session, entry_code, RecordsLoaded(
        entry_code=entry_code, provider=provider, accepted=accepted, rejected=rejected,
        loaded_at=loaded_at))


LAST_STORED = text("""
    SELECT max(updated_at) FROM record WHERE entry_code = :entry_code AND NOT deleted
""")


async def close_cut_loads(sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> int:
    """Close every load whose run ended without closing it (its process was killed): it is
    `interrupted`, with what its committed batches stored, and resumable. A running load's
    lock is held by its run, so a live one is never touched (on any replica). Returns how
    many were closed."""
    async with sessions() as session:
        candidates = list(await session.scalars(select(Load.id).where(
            Load.status == "running")))
    closed = 0
    for load_id in candidates:
        async with transaction(sessions) as session:
            if not await session.scalar(TRY_XACT_LOCK, _lock_key(load_id)):
                continue  # its run is alive
            load = await session.get(Load, load_id, with_for_update=True)
            if load is None or load.status != "running":
                continue
            await _close_cut(session, outbox, load)
            closed += 1
    return closed


async def _close_cut(session: AsyncSession, outbox: Outbox, load: Load) -> None:
    now = clock.now()
    load.status, load.finished_at = "interrupted", now
    log.warning("load cut short; closed as interrupted", extra={
        "load": str(load.id), "entry_code": load.entry_code, "accepted": load.accepted,
        "last_line": load.last_line})
    resource = await session.get(Resource, load.entry_code, with_for_update=True)
    if resource is None:
        return
    if resource.last_loaded_at is None:
        # Stored by a load from before loads recorded their batches: the rows say when.
        resource.last_loaded_at = await session.scalar(
            LAST_STORED, {"entry_code": load.entry_code})
    if load.accepted or load.rejected:
        await _say_loaded(session, outbox, load.entry_code, load.provider, load.accepted,
                          load.rejected, load.committed_at or now)


async def apply_ingested(session: AsyncSession, ingested: IngestRecord, ingest_id: uuid.UUID,
                         outbox: Outbox) -> None:
    """One streamed record from the ingest topic, its sender admitted (`ingest_auth`); a
    refused one is answered on the rejection topic, keyed by the entry, so the provider can
    read why. Either is counted on
    the entry, for the freshness sweep to announce (`freshness.announce_streamed_loads`)."""
    resource = await session.get(Resource, ingested.entry_code)
    code = IngestRefusal.invalid_record
    try:
        if resource is None or resource.status == "withdrawn":
            code = IngestRefusal.unknown_entry
            raise RowRejected(f"no published entry {ingested.entry_code}")
        validator, now = validator_for(resource), clock.now()
        if ingested.deleted:
            key = validator.key_of([str(ingested.record.get(c, "")) for c in resource.key_items])
            await session.execute(DELETE, {"entry_code": resource.code, "key": key, "now": now})
        else:
            key, cleaned = validator.clean(ingested.record)
            await session.execute(UPSERT, {"entry_code": resource.code, "keys": [key],
                                           "data": [json_object(cleaned)],
                                           "now": now})
        resource.last_loaded_at, resource.stale_since = now, None
        await _count_streamed(session, resource.code, accepted=True)
    except (RowRejected, BadUpload) as error:
        if resource is not None:
            await _count_streamed(session, resource.code, accepted=False)
        await outbox.add(session, ingested.entry_code, IngestRejected(
            ingest_id=ingest_id, entry_code=ingested.entry_code, reason=str(error), code=code))


async def _count_streamed(session: AsyncSession, entry_code: str, *, accepted: bool) -> None:
    # Counted by the database, not on the loaded object: the sweep resets the counts
    # concurrently, and a read-modify-write would lose a record or count it twice.
    column = Resource.ingested_accepted if accepted else Resource.ingested_rejected
    await session.execute(update(Resource).where(Resource.code == entry_code)
                          .values({column: column + 1}))
