"""Reading a load's body into rows (E1): CSV with a header row, or JSON Lines.

The body is read as it arrives and handed on a block at a time: the rows of the lines one
chunk completed, each at its line, so a refusal names its line and a million-row file is
never held whole. Most CSV lines hold no quote: a block of those is handed on as the lines
themselves, each split at its commas when it is cleaned (the csv module gives the same
values at several times the cost), and only a line with a quote, where a value may hold a
comma or a line break, goes through the csv module.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple, Protocol

from services.exchange.exceptions import BadUpload
from services.exchange.validation import RowRejected, RowValidator

CSV_TYPES = ("text/csv",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl")

Line = str | RowRejected  # a line of text, or why it is none (not UTF-8)
Row = Any  # what the body's `clean` takes: a CSV line or its values, a JSON object
Cleaned = tuple[str, dict[str, str]]  # a row's key and its values (`RowValidator.clean`)


class Block(NamedTuple):
    """The rows of consecutive lines: `rows[i]` is what line `first + i` holds: a row, why
    it is refused, or None (a blank line, the header, a line of a record above it)."""

    first: int
    rows: list[Row | RowRejected | None]

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    def slices(self, size: int) -> list[Block]:
        """The block in consecutive blocks of at most `size` lines."""
        if len(self.rows) <= size:
            return [self]
        return [Block(self.first + start, self.rows[start:start + size])
                for start in range(0, len(self.rows), size)]


class UploadBody(Protocol):
    """A body's blocks of rows, and how one of its rows is cleaned: None for a row that
    turns out to be no row (a blank line)."""

    clean: Callable[[Row], Cleaned | None]

    def blocks(self, body: AsyncIterator[bytes]) -> AsyncIterator[Block]: ...


def upload_body(media_type: str, validator: RowValidator) -> UploadBody:
    return CsvBody(validator) if media_type.startswith(CSV_TYPES) else JsonLinesBody(validator)


async def _text_blocks(body: AsyncIterator[bytes]
                       ) -> AsyncIterator[tuple[int, list[Line], bool]]:
    """The body's complete lines as each chunk brings them, with the number of the first,
    and whether they are plain: all UTF-8, and neither a quote nor a carriage return inside
    a line."""
    pending, number = b"", 0
    async for chunk in body:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending += chunk
            continue
        lines, plain = _decoded(pending + chunk[:cut])
        pending = chunk[cut + 1:]
        yield number + 1, lines, plain
        number += len(lines)
    if pending.strip():
        yield number + 1, *_decoded(pending)


def _decoded(block: bytes) -> tuple[list[Line], bool]:
    # A line break is never part of a UTF-8 sequence: decoding the lines together gives what
    # decoding each would, and only a block with a bad one is decoded line by line.
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return [_decoded_line(line) for line in block.split(b"\n")], False
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
        return lines, '"' not in text and not any("\r" in line for line in lines)
    return lines, '"' not in text  # type: ignore[return-value]


def _decoded_line(line: bytes) -> Line:
    try:
        return line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        return RowRejected(f"not UTF-8 (byte {error.start})")


class JsonLinesBody:
    """A JSON object a line; blank lines are skipped."""

    def __init__(self, validator: RowValidator) -> None:
        self.clean = validator.clean

    async def blocks(self, body: AsyncIterator[bytes]) -> AsyncIterator[Block]:
        async for first, lines, _ in _text_blocks(body):
            yield Block(first, [_json_row(line) if isinstance(line, RowRejected)
                                or line.strip() else None for line in lines])


def _json_row(line: Line) -> dict[str, Any] | RowRejected:
    if isinstance(line, RowRejected):
        return line
    try:
        row = json.loads(line)
    except ValueError as error:
        return RowRejected(f"not JSON ({error})")
    return row if isinstance(row, dict) else RowRejected("not a JSON object")


class CsvBody:
    """A header row naming the entry's items (its key items among them), then a record a
    line, or several lines when a quoted value holds a line break; blank lines are
    skipped. A row is a plain line (split when it is cleaned) or a quoted record's values."""

    def __init__(self, validator: RowValidator) -> None:
        self.validator = validator
        self.header: list[str] = []
        self._clean_values: Callable[[list[str]], Cleaned] = _before_header
        # A record whose quotes are still open: its text, its first line, and the lines
        # inside it that were not UTF-8 (each refused at its line once the record ends).
        self._record, self._record_line = "", 0
        self._record_refusals: list[tuple[int, RowRejected]] = []

    def clean(self, row: str | list[str]) -> Cleaned | None:
        if type(row) is not str:
            return self._clean_values(row)
        values = row.split(",")
        width = len(self.header)
        if len(values) != width or width == 1:
            if not row.strip():
                return None
            if len(values) != width:
                raise RowRejected(f"{len(values)} values for {width} columns")
        return self._clean_values(values)

    async def blocks(self, body: AsyncIterator[bytes]) -> AsyncIterator[Block]:
        async for first, lines, plain in _text_blocks(body):
            if plain and self.header and not self._record:
                yield Block(first, lines)  # type: ignore[arg-type]
            else:
                yield self._records(first, lines)
        if self._record:
            yield self._open_record_refused(RowRejected("a quoted value is never closed"))
        if not self.header:
            raise BadUpload("The CSV body has no header row.", field="body")

    def _records(self, first: int, lines: list[Line]) -> Block:
        """The block of `lines`, going back to the first line of a record still open from
        the block before and stopping before one still open at its end (a record is handed
        on whole, at its first line, or a load resumed after this block would skip it)."""
        begin = self._record_line if self._record else first
        rows: list[Row | RowRejected | None] = [None] * (first - begin)
        for number, line in enumerate(lines, first):
            rows.append(None)
            if isinstance(line, RowRejected):
                if self._record:
                    self._record_refusals.append((number, line))
                else:
                    rows[-1] = line
                continue
            at = number
            if self._record or '"' in line or "\r" in line:
                record = self._quoted(number, line)
                if record is None:
                    continue
                at, line = record
                for refused_at, refusal in self._record_refusals:
                    rows[refused_at - begin] = refusal
                self._record_refusals.clear()
            if not self.header:
                self.header = _header(line, self.validator)
                self._clean_values = self.validator.for_columns(self.header)
            elif line.strip():
                rows[at - begin] = self._values(line)
        if self._record:
            del rows[self._record_line - begin:]
        return Block(begin, rows)

    def _quoted(self, number: int, line: str) -> tuple[int, str] | None:
        """The record that `line` completes, with its first line; None while its quotes
        are open (a quoted value holds a line break: the record goes on)."""
        if self._record:
            self._record += "\n" + line
        else:
            self._record, self._record_line = line, number
        if self._record.count('"') % 2:
            return None
        record, self._record = self._record, ""
        return self._record_line, record

    def _open_record_refused(self, refusal: RowRejected) -> Block:
        last = max([self._record_line, *(line for line, _ in self._record_refusals)])
        rows: list[Row | RowRejected | None] = [None] * (last - self._record_line + 1)
        rows[0] = refusal
        for line, refused in self._record_refusals:
            rows[line - self._record_line] = refused
        return Block(self._record_line, rows)

    def _values(self, record: str) -> list[str] | RowRejected:
        try:
            values = _parsed(record)
        except csv.Error as error:
            return RowRejected(f"not CSV ({error})")
        if len(values) != len(self.header):
            return RowRejected(f"{len(values)} values for {len(self.header)} columns")
        return values


def _before_header(values: list[str]) -> Cleaned:
    raise AssertionError("a row is read only after the header row")


def _header(record: str, validator: RowValidator) -> list[str]:
    try:
        columns = [column.strip().lstrip("\ufeff") for column in _parsed(record)]
    except csv.Error as error:
        raise BadUpload(f"The header row is not CSV ({error}).", field="header") from None
    unknown = sorted(set(columns) - set(validator.item_codes))
    if unknown:
        raise BadUpload(f"The header names columns the entry does not have: "
                        f"{', '.join(unknown)}; its items are {', '.join(validator.item_codes)}.",
                        field="header")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise BadUpload(f"The header names {', '.join(repeated)} more than once.",
                        field="header")
    missing = sorted(set(validator.key_items) - set(columns))
    if missing:
        raise BadUpload(f"The header lacks the key items {', '.join(missing)}.", field="header")
    return columns


def _parsed(record: str) -> list[str]:
    return next(csv.reader([record]), [])
