"""Reading an uploaded compilation workbook (W4), streamed: openpyxl's read-only mode parses
a sheet's rows as they are asked for, so the resources pass through one batch at a time.
Only the info items are held, raw, until their resource's row comes by: they are on another
sheet, in whatever order the person left them.

Reading names every cell it cannot read (a value not in its code list, a missing header);
what the cells say is checked as the API checks it, by EntrySpec and the catalog's rules,
and those refusals are placed back on their cells by `cell_of`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from services.catalog.exceptions import NotAWorkbook
from services.catalog.schemas import CellRefusal
from services.catalog.workbook_layout import (
    CODE_COLUMN,
    ITEMS,
    NAME_COLUMN,
    PROVIDER_COLUMN,
    REASON_COLUMN,
    RESOURCE_COLUMN,
    RESOURCES,
    SEPARATORS,
    YES_NO,
    Column,
    Kind,
)

# W4's refusals that no catalog rule makes: the element's form, as the guide defines it.
FORM_RULE, GUIDE = "W4", "1272号 指南"
# What one upload may hold: a department's whole catalog, with room to spare. The workbook is
# a zip, so its body's size (the service's body limit) does not bound what it unpacks to.
MAX_EXPANDED_BYTES = 256 * 1024**2
MAX_RESOURCES = 10_000
MAX_ITEMS = 250_000
MAX_HEADER_COLUMNS = 100
BATCH_ROWS = 200
_ABSENT = object()


def open_workbook(source: IO[bytes]) -> Workbook:
    """The upload as a read-only workbook; NotAWorkbook if it is none, or unpacks too far."""
    try:
        with zipfile.ZipFile(source) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
        source.seek(0)
        if expanded > MAX_EXPANDED_BYTES:
            raise NotAWorkbook(f"The workbook unpacks to {expanded} bytes; the limit is "
                               f"{MAX_EXPANDED_BYTES}. Split the catalog into several uploads.")
        return load_workbook(source, read_only=True, data_only=True)
    except NotAWorkbook:
        raise
    except Exception as error:  # a zip that is not a workbook fails in many ways
        raise _not_a_workbook(error) from error


def _not_a_workbook(error: Exception) -> NotAWorkbook:
    return NotAWorkbook("The body is not an .xlsx workbook of the compilation template "
                        f"({type(error).__name__}).")


def _parsed(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """A sheet's rows, NotAWorkbook if they cannot be read: read-only mode unpacks and parses
    a sheet only as its rows are asked for, so a damaged one (broken XML, a CRC or size its
    zip lies about) fails here, long after load_workbook accepted the file."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as error:  # the zip and XML parsers fail in many ways
            raise _not_a_workbook(error) from error
        yield row


def refusal(sheet: str, row: int | None, column: Column | None, letter: str | None, *,
            code: str, message: str, field: str | None = None, rule: str = FORM_RULE,
            article: str = GUIDE) -> CellRefusal:
    return CellRefusal(sheet=sheet, row=row, column=letter,
                       header=column.header if column else None,
                       field=field if field is not None else (column.field if column else None),
                       rule=rule, article=article, code=code, message=message)


@dataclass
class Sheet:
    """One sheet of the upload and where each of its layout's columns is in it."""

    title: str
    rows: ReadOnlyWorksheet
    columns: tuple[Column, ...]
    positions: dict[str, int]  # a column's field → its 0-based index in this sheet

    @property
    def width(self) -> int:
        return max(self.positions.values()) + 1

    def letter(self, column: Column) -> str:
        return get_column_letter(self.positions[column.field] + 1)

    def data_rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """Each row below the headers that holds anything, with its row number."""
        rows = _parsed(self.rows.iter_rows(min_row=2, max_col=self.width, values_only=True))
        for number, values in enumerate(rows, start=2):
            if any(value not in (None, "") for value in values):
                yield number, values


def sheet_of(book: Workbook, title: str,
             columns: tuple[Column, ...]) -> tuple[Sheet | None, list[CellRefusal]]:
    """The sheet `title`, its headers found wherever they stand; refusals for what is missing."""
    if title not in book.sheetnames:
        return None, [refusal(title, None, None, None, code="sheet_missing",
                              message=f"The workbook has no sheet {title}.")]
    rows = book[title]
    headers = next(_parsed(rows.iter_rows(max_row=1, max_col=MAX_HEADER_COLUMNS,
                                          values_only=True)), ())
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        found.setdefault(_header_text(header), index)
    positions = {column.field: found[column.header] for column in columns
                 if column.header in found}
    missing = [column for column in columns if column.field not in positions
               and not column.shown_only]
    refusals = [refusal(title, 1, column, None, code="header_missing",
                        message=f"Sheet {title} has no column {column.header}.")
                for column in missing]
    return (None if refusals else Sheet(title, rows, columns, positions)), refusals


def _header_text(value: Any) -> str:
    return str(value or "").replace("*", "").replace("＊", "").strip()


@dataclass(slots=True)
class ItemRow:
    """An item's row as read, kept until its resource's row comes by (a workbook holds tens
    of thousands: slots keep each small)."""

    row: int
    values: tuple[Any, ...]


@dataclass
class HeldItems:
    """The items sheet, read whole (raw values only), by the name of their resource."""

    by_resource: dict[str, list[ItemRow]] = field(default_factory=dict)
    refusals: list[CellRefusal] = field(default_factory=list)


def hold_items(sheet: Sheet) -> HeldItems:
    held = HeldItems()
    link = next(column for column in sheet.columns if column.field == RESOURCE_COLUMN)
    at = sheet.positions[RESOURCE_COLUMN]
    for count, (number, values) in enumerate(sheet.data_rows(), start=1):
        if count > MAX_ITEMS:
            raise NotAWorkbook(f"Sheet {ITEMS} has more than {MAX_ITEMS} info items; split the "
                               "catalog into several uploads.")
        name = _text(values[at])
        if not name:
            held.refusals.append(refusal(ITEMS, number, link, sheet.letter(link),
                                         code="missing", message="Name the item's resource."))
            continue
        held.by_resource.setdefault(name, []).append(ItemRow(number, values))
    return held


@dataclass
class ResourceRow:
    """One resource's row, read: the entry's body (its items still apart), which entry it
    changes, and what could not be read."""

    row: int
    name: str
    code: str | None
    provider: str | None
    reason: str | None
    body: dict[str, Any]
    refusals: list[CellRefusal]
    item_rows: list[int] = field(default_factory=list)  # the items sheet's row of each item


def resource_batches(sheet: Sheet) -> Iterator[list[ResourceRow]]:
    """The resources sheet a batch of rows at a time (each batch parsed in one go)."""
    rows = (read_resource(sheet, number, values) for number, values in sheet.data_rows())
    counted = 0
    while batch := list(islice(rows, BATCH_ROWS)):
        counted += len(batch)
        if counted > MAX_RESOURCES:
            raise NotAWorkbook(f"Sheet {RESOURCES} has more than {MAX_RESOURCES} resources; "
                               "split the catalog into several uploads.")
        yield batch


def read_resource(sheet: Sheet, number: int, values: tuple[Any, ...]) -> ResourceRow:
    body, refusals = _read_row(sheet, number, values)
    return ResourceRow(row=number, name=str(body.get(NAME_COLUMN) or ""),
                       code=body.pop(CODE_COLUMN, None), provider=body.pop(PROVIDER_COLUMN, None),
                       reason=body.pop(REASON_COLUMN, None), body=body, refusals=refusals)


def attach_items(resource: ResourceRow, rows: list[ItemRow], sheet: Sheet) -> None:
    """Put the resource's items into its body, in the order of their rows."""
    items = []
    for item in rows:
        body, refusals = _read_row(sheet, item.row, item.values)
        body.pop(RESOURCE_COLUMN, None)
        items.append(body)
        resource.refusals.extend(refusals)
        resource.item_rows.append(item.row)
    resource.body["items"] = items


def _read_row(sheet: Sheet, number: int,
              values: tuple[Any, ...]) -> tuple[dict[str, Any], list[CellRefusal]]:
    body: dict[str, Any] = {}
    refusals: list[CellRefusal] = []
    for column in sheet.columns:
        if column.shown_only or column.field not in sheet.positions:
            continue
        value, problem = read_cell(column, values[sheet.positions[column.field]])
        if problem:
            refusals.append(refusal(sheet.title, number, column, sheet.letter(column),
                                    code="code_list", message=problem))
        elif value is not _ABSENT:
            _put(body, column.field, value)
    return body, refusals


def read_cell(column: Column, value: Any) -> tuple[Any, str | None]:
    """The field's value a cell holds (_ABSENT if empty), or why it cannot be read."""
    if column.kind is Kind.integer:
        return _integer(value), None
    text = _text(value, column.digits)
    if not text:
        return _ABSENT, None
    if column.kind in (Kind.text, Kind.digits):
        return text, None
    if column.kind is Kind.words:
        return SEPARATORS.split(text.strip()), None
    assert column.codes is not None
    words = SEPARATORS.split(text) if column.kind is Kind.choices else [text]
    codes = [column.codes.code_of(word) for word in words if word]
    unknown = [word for word, code in zip(words, codes, strict=True) if code is None]
    if unknown:
        return _ABSENT, (f"{'、'.join(unknown)} is not in the code list {column.codes.title}: "
                         f"one of {'、'.join(column.codes.labels.values())}.")
    if column.kind is Kind.flag:
        return codes[0] == "true", None
    return (codes if column.kind is Kind.choices else codes[0]), None


def _text(value: Any, digits: int | None = None) -> str:
    """A cell as the text a person sees in it; a number Excel made of a code (项 01 typed
    as 1) padded back to its digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES_NO.labels[str(value).lower()]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value).zfill(digits or 0)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value).strip()


def _integer(value: Any) -> Any:
    if value is None or value == "":
        return _ABSENT
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value  # EntrySpec refuses what is not a whole number, at this cell


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value
