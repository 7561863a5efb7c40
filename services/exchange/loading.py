"""Getting data into the front-end store (前置机, E1): streamed bulk loads and the ingest topic.

A load reads the body as it arrives, line by line, so a file of a million rows is never held
in memory; rows are checked against the entry's items and upserted by its key items in
batches, each batch its own transaction. An interrupted load keeps what it committed, and a
load repeated changes nothing (upserts; unchanged rows keep their place in the change feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange.exceptions import BadUpload
from services.exchange.models import Load, Resource
from services.exchange.validation import RowRejected, RowValidator
from shared import clock
from shared.contracts.exchange import IngestRecord, IngestRejected, RecordsLoaded
from shared.db import transaction
from shared.outbox import Outbox

log = logging.getLogger(__name__)

BATCH_ROWS = 2000
REPORTED_REJECTIONS = 1000
CSV_TYPES = ("text/csv",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl")

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
class LoadReport:
    accepted: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < REPORTED_REJECTIONS:
            self.rejections.append({"line": line, "reason": reason})


def validator_for(resource: Resource) -> RowValidator:
    if not resource.key_items:
        raise BadUpload(f"Entry {resource.code} declares no item that identifies the subject; "
                        "records cannot be keyed.", field="entry_code")
    return RowValidator(resource.items, resource.key_items)


async def load_stream(sessions: async_sessionmaker[AsyncSession], outbox: Outbox,
                      load: Load, resource: Resource, body: AsyncIterator[bytes]) -> Load:
    """Read `body` (CSV with a header row, or JSON Lines) into the store; fill `load`."""
    validator = validator_for(resource)
    rows = (_csv_rows(body, validator) if load.media_type.startswith(CSV_TYPES)
            else _jsonl_rows(body))
    report, batch = LoadReport(), {}
    writing: asyncio.Task[None] | None = None  # the previous batch, written while we parse
    try:
        async for line, row in rows:
            if isinstance(row, RowRejected):
                report.reject(line, str(row))
                continue
            try:
                key, cleaned = validator.clean(row)
            except RowRejected as error:
                report.reject(line, str(error))
                continue
            batch[key] = cleaned
            report.accepted += 1
            if len(batch) >= BATCH_ROWS:
                if writing:
                    await writing
                writing, batch = asyncio.create_task(
                    _upsert(sessions, resource.code, batch)), {}
        if writing:
            await writing
        await _upsert(sessions, resource.code, batch)
        load.status = "completed"
    except BadUpload:
        load.status = "refused"
        raise
    except BaseException:
        load.status = "interrupted"
        log.exception("load interrupted", extra={"load": str(load.id)})
        raise
    finally:
        if writing and not writing.done():
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing
        await _finish(sessions, outbox, load, resource, report)
    return load


async def apply_ingested(session: AsyncSession, ingested: IngestRecord, ingest_id: uuid.UUID,
                         outbox: Outbox) -> None:
    """One streamed record from the ingest topic; a refused one is answered on the
    rejection topic, keyed by the entry, so the provider can read why. Either is counted on
    the entry, for the freshness sweep to announce (`freshness.announce_streamed_loads`)."""
    resource = await session.get(Resource, ingested.entry_code)
    try:
        if resource is None or resource.status == "withdrawn":
            raise RowRejected(f"no published entry {ingested.entry_code}")
        validator, now = validator_for(resource), clock.now()
        if ingested.deleted:
            key = validator.key_of([str(ingested.record.get(c, "")) for c in resource.key_items])
            await session.execute(DELETE, {"entry_code": resource.code, "key": key, "now": now})
        else:
            key, cleaned = validator.clean(ingested.record)
            await session.execute(UPSERT, {"entry_code": resource.code, "keys": [key],
                                           "data": [json.dumps(cleaned, ensure_ascii=False)],
                                           "now": now})
        resource.last_loaded_at, resource.stale_since = now, None
        await _count_streamed(session, resource.code, accepted=True)
    except (RowRejected, BadUpload) as error:
        if resource is not None:
            await _count_streamed(session, resource.code, accepted=False)
        await outbox.add(session, ingested.entry_code, IngestRejected(
            ingest_id=ingest_id, entry_code=ingested.entry_code, reason=str(error)))


async def _count_streamed(session: AsyncSession, entry_code: str, *, accepted: bool) -> None:
    # Counted by the database, not on the loaded object: the sweep resets the counts
    # concurrently, and a read-modify-write would lose a record or count it twice.
    column = Resource.ingested_accepted if accepted else Resource.ingested_rejected
    await session.execute(update(Resource).where(Resource.code == entry_code)
                          .values({column: column + 1}))


async def _upsert(sessions: async_sessionmaker[AsyncSession], entry_code: str,
                  batch: dict[str, dict[str, str]]) -> None:
    if not batch:
        return
    async with transaction(sessions) as session:
        await session.execute(UPSERT, {
            "entry_code": entry_code, "keys": list(batch),
            "data": [json.dumps(values, ensure_ascii=False) for values in batch.values()],
            "now": clock.now()})


async def _finish(sessions: async_sessionmaker[AsyncSession], outbox: Outbox, load: Load,
                  resource: Resource, report: LoadReport) -> None:
    now = clock.now()
    async with transaction(sessions) as session:
        load.accepted, load.rejected, load.rejections = (
            report.accepted, report.rejected, report.rejections)
        load.finished_at = now
        await session.merge(load)
        if report.accepted:
            stored = await session.get(Resource, resource.code, with_for_update=True)
            if stored is not None:
                stored.last_loaded_at, stored.stale_since = now, None
        await outbox.add(session, resource.code, RecordsLoaded(
            entry_code=resource.code, provider=resource.provider, accepted=report.accepted,
            rejected=report.rejected, loaded_at=now))


async def _lines(body: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    buffer, number = b"", 0
    async for chunk in body:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            number += 1
            yield number, line
    if buffer.strip():
        yield number + 1, buffer


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        raise RowRejected(f"not UTF-8 (byte {error.start})") from None


async def _jsonl_rows(body: AsyncIterator[bytes]
                      ) -> AsyncIterator[tuple[int, dict[str, Any] | RowRejected]]:
    async for number, line in _lines(body):
        if not line.strip():
            continue
        try:
            row = json.loads(_decode(line))
        except RowRejected as error:
            yield number, error
            continue
        except ValueError as error:
            yield number, RowRejected(f"not JSON ({error})")
            continue
        yield number, row if isinstance(row, dict) else RowRejected("not a JSON object")


async def _csv_rows(body: AsyncIterator[bytes], validator: RowValidator
                    ) -> AsyncIterator[tuple[int, dict[str, Any] | RowRejected]]:
    header: list[str] | None = None
    pending, first_line = "", 0
    async for number, line in _lines(body):
        try:
            text_line = _decode(line)
        except RowRejected as error:
            yield number, error
            continue
        # A quoted value may hold a line break: keep reading until the quotes balance.
        pending, first_line = (pending + "\n" + text_line, first_line) if pending else (
            text_line, number)
        if pending.count('"') % 2:
            continue
        record, pending = pending, ""
        if header is None:
            header = _header(record, validator)
            continue
        if not record.strip():
            continue
        values = next(_parse_csv(record))
        if len(values) != len(header):
            yield first_line, RowRejected(f"{len(values)} values for {len(header)} columns")
            continue
        yield first_line, dict(zip(header, values, strict=True))
    if header is None:
        raise BadUpload("The CSV body has no header row.", field="body")


def _header(record: str, validator: RowValidator) -> list[str]:
    columns = [column.strip().lstrip("\ufeff") for column in next(_parse_csv(record))]
    unknown = sorted(set(columns) - set(validator.item_codes))
    if unknown:
        raise BadUpload(f"The header names columns the entry does not have: "
                        f"{', '.join(unknown)}; its items are {', '.join(validator.item_codes)}.",
                        field="header")
    missing = sorted(set(validator.key_items) - set(columns))
    if missing:
        raise BadUpload(f"The header lacks the key items {', '.join(missing)}.", field="header")
    return columns


def _parse_csv(record: str) -> Iterator[list[str]]:
    return csv.reader([record])
