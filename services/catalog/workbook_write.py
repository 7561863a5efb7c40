"""Writing the compilation workbook (W4): the empty template, or a department's current
catalog in the same layout, which can be changed and uploaded again.

openpyxl's write-only mode writes each row out as it is appended, and the entries are read
a batch at a time, so a catalog of thousands of entries is never held whole. Every cell of
a code list offers its Chinese names as a drop-down, from the hidden sheet 代码表.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Entry
from services.catalog.workbook_layout import (
    CODE_LISTS,
    CODES,
    ITEM_COLUMNS,
    ITEMS,
    RESOURCE_COLUMNS,
    RESOURCES,
    CodeList,
    Column,
    Kind,
)
from shared.contracts.catalog import EntryStatus
from shared.workdays import china_date

LAST_ROW = 1_048_576  # Excel's: the drop-downs reach every row a person may fill
BATCH_ENTRIES = 500
SPOOLED_BYTES = 1024**2  # a larger workbook waits on disk for its download
STATUS_LABELS = {EntryStatus.draft: "草稿", EntryStatus.published: "已发布"}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


class CompilationWorkbook:
    """A workbook of the layout being written: rows appended, then saved once."""

    def __init__(self) -> None:
        self.book = Workbook(write_only=True)
        lists = {codes.title: get_column_letter(index)
                 for index, codes in enumerate(CODE_LISTS, start=1)}
        self.resources = self._sheet(RESOURCES, RESOURCE_COLUMNS, lists)
        self.items = self._sheet(ITEMS, ITEM_COLUMNS, lists)
        self._code_lists()

    def add(self, entry: dict[str, Any]) -> None:
        """One entry (its declaration, code, provider, status): its row and its items'."""
        self.resources.append([_cell(self.resources, shown(column, _value_at(entry, column.field)))
                               for column in RESOURCE_COLUMNS])
        for item in entry["items"]:
            self.items.append([_cell(self.items, shown(column, entry["name"]
                                                       if column.field == "resource"
                                                       else _value_at(item, column.field)))
                               for column in ITEM_COLUMNS])

    def save(self) -> IO[bytes]:
        """The workbook as a file, read from its start."""
        written = tempfile.SpooledTemporaryFile(max_size=SPOOLED_BYTES)
        self.book.save(written)
        written.seek(0)
        return written

    def _sheet(self, title: str, columns: tuple[Column, ...],
               lists: dict[str, str]) -> WriteOnlyWorksheet:
        sheet = self.book.create_sheet(title)
        sheet.freeze_panes = "C2" if title == RESOURCES else "B2"
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            if column.kind in (Kind.text, Kind.digits, Kind.words):
                sheet.column_dimensions[letter].number_format = "@"  # 01 stays 01
            validation = _validation(column, lists)
            if validation is not None:
                validation.add(f"{letter}2:{letter}{LAST_ROW}")
                sheet.data_validations.append(validation)
        sheet.append([_header(sheet, column.header) for column in columns])
        return sheet

    def _code_lists(self) -> None:
        sheet = self.book.create_sheet(CODES)
        sheet.sheet_state = "hidden"
        sheet.append([_header(sheet, codes.title) for codes in CODE_LISTS])
        longest = max(len(codes.labels) for codes in CODE_LISTS)
        columns = [list(codes.labels.values()) for codes in CODE_LISTS]
        for row in range(longest):
            sheet.append([shown[row] if row < len(shown) else None for shown in columns])


def shown(column: Column, value: Any) -> Any:
    """A field's value as its cell shows it: a code by its Chinese name."""
    if value is None or value == []:
        return None
    if column.kind is Kind.flag:
        return "是" if value else "否"
    if column.kind is Kind.choice:
        return _label(column.codes, value)
    if column.kind is Kind.choices:
        return "、".join(_label(column.codes, each) for each in value)
    if column.kind is Kind.words:
        return "、".join(value)
    return value


def _label(codes: CodeList | None, value: Any) -> str:
    return codes.labels.get(str(value), str(value)) if codes else str(value)


def _validation(column: Column, lists: dict[str, str]) -> DataValidation | None:
    """A drop-down of the column's code list (one value); the column's note as the prompt a
    cell shows when chosen (a multi-valued column's lists its values)."""
    prompt = {"showInputMessage": True, "promptTitle": column.header[:32],
              "prompt": column.prompt[:255]} if column.prompt else {}
    if column.kind in (Kind.choice, Kind.flag) and column.codes is not None:
        letter = lists[column.codes.title]
        return DataValidation(
            type="list", formula1=f"'{CODES}'!${letter}$2:${letter}${len(column.codes.labels) + 1}",
            allow_blank=True, showErrorMessage=True, errorTitle=column.header[:32],
            error=f"请从下拉列表中选择{column.codes.title}。", **prompt)
    return DataValidation(allow_blank=True, **prompt) if prompt else None


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Text as a string cell, whatever it starts with: openpyxl stores a str beginning with
    "=" as a formula, and the names and abstracts are other departments' free text, which a
    download must not turn into formulas (a HYPERLINK leaking to anyone) nor lose on upload."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _header(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    return cell


def _value_at(body: dict[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


async def catalog_workbook(session: AsyncSession, *, provider: str, provider_name: str,
                           with_drafts: bool) -> IO[bytes]:
    """The provider's current catalog (published entries, and its drafts for its own
    editors) as a workbook of the layout, read a batch of entries at a time."""
    shown_states = [EntryStatus.published] + ([EntryStatus.draft] if with_drafts else [])
    query = (select(Entry.code, Entry.spec, Entry.status, Entry.published_at)
             .where(Entry.provider == provider, Entry.status.in_(shown_states))
             .order_by(Entry.code).execution_options(yield_per=BATCH_ENTRIES))
    workbook = CompilationWorkbook()
    rows = await session.stream(query)
    async for batch in rows.partitions():
        entries = [_row_of(row._mapping, provider, provider_name) for row in batch]
        await asyncio.to_thread(_add_all, workbook, entries)
    return await asyncio.to_thread(workbook.save)


def template_workbook() -> IO[bytes]:
    return CompilationWorkbook().save()


def _add_all(workbook: CompilationWorkbook, entries: Iterable[dict[str, Any]]) -> None:
    for entry in entries:
        workbook.add(entry)


def _row_of(row: Any, provider: str, provider_name: str) -> dict[str, Any]:
    published: datetime | None = row["published_at"]
    return {**row["spec"], "code": row["code"], "provider": provider,
            "provider_name": provider_name,
            "status": STATUS_LABELS.get(EntryStatus(row["status"]), row["status"]),
            "published_at": china_date(published).isoformat() if published else None}
