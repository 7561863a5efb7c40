"""Bulk download (批量下载, E3): CSV or JSON Lines, full or since a cursor, in constant memory.

PostgreSQL does the work: one `COPY (SELECT …) TO STDOUT` selects the granted items, applies
the row filter and writes the format, and its chunks go to the client through a small
queue, so memory stays flat however many rows there are. Counting and copying run in one
REPEATABLE READ transaction: the count, the end cursor and the rows are one snapshot.

Each row carries `_cursor` and `_deleted`; a client that is cut off asks again with
`since=<last cursor>` and gets the rest, and later asks with the end cursor for what changed
since. A download since a cursor also carries the records deleted after it, as tombstones
(`_deleted` true, the granted key items only): without them a client kept in step by cursor
would keep every record its provider deleted. A full download leaves them out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from services.exchange import audit
from services.exchange.filters import sql_conditions
from shared.contracts.sharing import RowCondition
from shared.runtime import ServiceRuntime

QUEUE_CHUNKS = 16  # COPY chunks in flight between the database and the client


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


MEDIA_TYPES = {Format.csv: "text/csv; charset=utf-8",
               Format.jsonl: "application/x-ndjson; charset=utf-8"}


@dataclass(frozen=True)
class Export:
    """What one download sends: which rows (entry, since, filter) and which items."""

    entry_code: str
    items: tuple[str, ...]
    row_filter: tuple[RowCondition, ...]
    since: int
    key_items: tuple[str, ...] = ()  # what a tombstone keeps of a deleted record

    @property
    def tombstones(self) -> bool:
        """Whether deletions are sent: only to a client that holds rows from before."""
        return self.since > 0


@dataclass(frozen=True)
class Snapshot:
    rows: int
    end_cursor: int


class Stream:
    """A running export: its snapshot figures, then its bytes."""

    def __init__(self, engine: AsyncEngine, export: Export, fmt: Format) -> None:
        self.engine, self.export, self.format = engine, export, fmt
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
        self._ready: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Snapshot:
        """Open the snapshot and start copying; the figures go in the response headers."""
        self._task = asyncio.create_task(self._copy())
        return await asyncio.shield(self._ready)

    async def body(self) -> AsyncIterator[bytes]:
        try:
            while (chunk := await self._queue.get()) is not None:
                yield chunk
            assert self._task is not None
            await self._task  # surfaces a failure of the copy
        finally:
            await self.close()

    async def close(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _put(self, chunk: bytes | bytearray | memoryview) -> None:
        await self._queue.put(bytes(chunk))  # asyncpg hands out views of its own buffer

    async def _copy(self) -> None:
        try:
            async with self.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                async with raw.transaction(isolation="repeatable_read", readonly=True):
                    where, params = _where(self.export)
                    rows, end = await raw.fetchrow(
                        f"SELECT count(*), coalesce(max(seq), $2) FROM record WHERE {where}",
                        *params)
                    self._ready.set_result(Snapshot(rows, end))
                    await raw.copy_from_query(
                        _select(self.export, self.format, where, len(params) + 1),
                        *params, end, output=self._put, **_copy_options(self.format))
            await self._queue.put(None)
        except BaseException as error:
            if not self._ready.done():
                self._ready.set_exception(error)
            raise


async def audited_response(runtime: ServiceRuntime, export: Export, fmt: Format, *,
                           access: Callable[[int], audit.Access], actor: str
                           ) -> StreamingResponse:
    """The export as a streamed answer, its access (given the number of rows) in the audit
    log before a byte of it leaves."""
    stream = Stream(runtime.engine, export, fmt)
    snapshot = await stream.start()
    try:
        await audit.record_now(runtime.sessions, access(snapshot.rows), actor=actor,
                               node=runtime.settings.node_id)
    except BaseException:
        await stream.close()
        raise
    return StreamingResponse(stream.body(), media_type=MEDIA_TYPES[fmt], headers={
        "X-Record-Count": str(snapshot.rows), "X-Cursor-End": str(snapshot.end_cursor)})


def _where(export: Export) -> tuple[str, list[object]]:
    params: list[object] = [export.entry_code, export.since]
    # A deleted record keeps its last data, so the row filter judges its tombstone by the
    # record as the client could last have had it: a deletion outside the filter is none of
    # the client's business (and would disclose a key it was never granted).
    clauses = ["entry_code = $1", "seq > $2", *([] if export.tombstones else ["NOT deleted"]),
               *sql_conditions(export.row_filter, params)]
    return " AND ".join(clauses), params


def _select(export: Export, fmt: Format, where: str, end_param: int) -> str:
    # Item codes match ^[A-Za-z0-9_.-]{1,50}$ (the catalog checks them), so they are safe
    # as quoted identifiers and JSON keys.
    def value(item: str, operator: str) -> str:
        taken = f"data{operator}'{item}'"
        if not export.tombstones or item in export.key_items:
            return taken
        return f"CASE WHEN deleted THEN NULL ELSE {taken} END"  # a tombstone keeps its key

    if fmt == Format.csv:
        # Every download has the column, so a CSV file resumed or brought up to date by
        # appending later downloads keeps one header.
        deleted = "deleted::text" if export.tombstones else "'false'"
        columns = ", ".join(f"{value(item, '->>')} AS \"{item}\"" for item in export.items)
        return (f"SELECT seq AS _cursor, {columns}, {deleted} AS _deleted FROM record "
                f"WHERE {where} AND seq <= ${end_param} ORDER BY seq")
    # Each row as one JSON object of its columns (json_build_object takes at most 100
    # arguments, two an item: an entry may have 500).
    deleted = "deleted" if export.tombstones else "false"
    columns = ", ".join(f"{value(item, '->')} AS \"{item}\"" for item in export.items)
    return (f"SELECT row_to_json(exported)::text FROM (SELECT seq AS _cursor, {columns}, "
            f"{deleted} AS _deleted FROM record WHERE {where} AND seq <= ${end_param}) exported "
            "ORDER BY exported._cursor")


def _copy_options(fmt: Format) -> dict[str, object]:
    if fmt == Format.csv:
        return {"format": "csv", "header": True}
    # JSON text never holds raw control characters, so with these as quote and delimiter
    # COPY's CSV writer passes every line through untouched.
    return {"format": "csv", "quote": "\x01", "delimiter": "\x02"}
