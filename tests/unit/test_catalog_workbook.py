"""W4 without a database: an entry written into the compilation workbook reads back as the
same declaration, and cells read as a person fills them in (a code Excel took for a number,
several values in one cell, a value not in the code list named with the list)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from openpyxl import load_workbook

from services.catalog.exceptions import NotAWorkbook
from services.catalog.workbook_layout import (
    ITEM_COLUMNS,
    ITEMS,
    RESOURCE_COLUMNS,
    RESOURCES,
    Column,
)
from services.catalog.workbook_read import (
    _ABSENT,
    attach_items,
    hold_items,
    open_workbook,
    read_cell,
    resource_batches,
    sheet_of,
)
from services.catalog.workbook_write import CompilationWorkbook
from shared.contracts.catalog import EntrySpec
from tests import factories


def column(field: str) -> Column:
    return next(each for each in RESOURCE_COLUMNS + ITEM_COLUMNS if each.field == field)


def test_entries_written_into_the_workbook_read_back_as_the_same_declarations() -> None:
    declared = [EntrySpec.model_validate(body) for body in (
        factories.population_entry(), factories.open_entry(),
        factories.theme_entry({"type": "conditional", "conditions": "仅限核验参保身份时使用",
                               "permitted_uses": ["data_verification", "work_reference"],
                               "method_types": ["api"], "methods": ["online_query"],
                               "sensitive": True}),
        factories.theme_entry({"type": "not_shared", "legal_basis": {
            "kind": "law", "title": "《中华人民共和国统计法》第三十九条"}}))]
    assert read_back(written_with(declared)) == declared


def written_with(declared: list[EntrySpec]) -> bytes:
    workbook = CompilationWorkbook()
    for spec in declared:
        workbook.add({**spec.model_dump(mode="json"), "code": None})
    with workbook.save() as written:
        return written.read()


def read_back(written: bytes) -> list[EntrySpec]:
    book = open_workbook(io.BytesIO(written))
    resources, refused = sheet_of(book, RESOURCES, RESOURCE_COLUMNS)
    items, more_refused = sheet_of(book, ITEMS, ITEM_COLUMNS)
    assert resources and items and not refused + more_refused
    held = hold_items(items)
    read = []
    for batch in resource_batches(resources):
        for row in batch:
            attach_items(row, held.by_resource.pop(row.name), items)
            assert not row.refusals
            read.append(EntrySpec.model_validate(row.body))
    assert not held.by_resource
    return read


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)"])
def test_text_that_looks_like_a_formula_is_written_and_read_back_as_text(text: str) -> None:
    """Another department's names and abstracts reach whoever downloads its catalog: none
    may become a formula in the workbook (a link leaking the reader's data, a computation)."""
    entry = factories.population_entry(name=text)
    entry["abstract"] = text
    entry["items"][0]["name"] = text  # type: ignore[index]
    declared = [EntrySpec.model_validate(entry)]
    written = written_with(declared)
    assert read_back(written) == declared
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        sheets = [archive.read(name) for name in archive.namelist()
                  if name.startswith("xl/worksheets/")]
    assert sheets and not any(b"<f>" in xml or b"<f " in xml for xml in sheets)
    book = load_workbook(io.BytesIO(written))  # not data_only: a formula would read as one
    cells = [cell for title in (RESOURCES, ITEMS) for row in book[title].iter_rows(min_row=2)
             for cell in row if cell.value == text]
    # the name and abstract, an item's name, and the resource named on each of its 3 items
    assert len(cells) == 6 and all(cell.data_type == "s" for cell in cells)


def test_a_code_excel_took_for_a_number_reads_as_its_digits() -> None:
    assert read_cell(column("classification.item"), 1) == ("01", None)
    assert read_cell(column("classification.category"), 2.0) == ("002", None)
    assert read_cell(column("length"), 18.0) == (18, None)


def test_several_values_of_a_code_list_in_one_cell_read_as_their_codes() -> None:
    assert read_cell(column("share.methods"), "联机查询、 批量下载") == (
        ["online_query", "bulk_download"], None)
    assert read_cell(column("share.sensitive"), "是") == (True, None)
    assert read_cell(column("data_type"), "Y 货币型") == ("Y", None)
    assert read_cell(column("data_type"), "Y") == ("Y", None)
    assert read_cell(column("abstract"), "  ") == (_ABSENT, None)


def test_a_value_not_in_the_code_list_is_refused_naming_the_list() -> None:
    value, problem = read_cell(column("update_cycle"), "随时")
    assert value is _ABSENT
    assert problem and "随时" in problem and "更新周期" in problem and "每季度" in problem


def test_what_is_no_workbook_is_refused_as_such() -> None:
    with pytest.raises(NotAWorkbook):
        open_workbook(io.BytesIO(b"PK\x03\x04 no zip at all"))


def rezipped(written: bytes, member: str, content: bytes | None = None, *,
             stored: bool = False) -> bytes:
    """The workbook with one member replaced (or kept), stored uncompressed if asked."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(written)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                target.writestr(info.filename, data if content is None else content,
                                zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
            else:
                target.writestr(info, data)
    return out.getvalue()


def as_excel_saves_it(written: bytes) -> bytes:
    """The workbook with its sheets' dimensions, as Excel writes them: read-only mode then
    reads no further than them on opening (openpyxl's write-only mode leaves them out)."""
    for member in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
        with zipfile.ZipFile(io.BytesIO(written)) as archive:
            xml = archive.read(member)
        dimension = f'<dimension ref="A1:AZ{xml.count(b"<row ")}" />'.encode()
        written = rezipped(written, member, xml.replace(b"</sheetPr>",
                                                        b"</sheetPr>" + dimension, 1))
    return written


def broken_xml(written: bytes, member: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        xml = archive.read(member)
    return rezipped(written, member, xml[:xml.index(b"</sheetData>") // 2])  # amid the rows


def bad_crc(written: bytes, member: str) -> bytes:
    body = rezipped(written, member, stored=True)
    assert body.count(b'<c r="B2"') == 1  # in the stored sheet, its only plain text
    return body.replace(b'<c r="B2"', b'<c r="B3"')  # still XML; no longer its CRC


def lying_size(written: bytes, member: str) -> bytes:
    """The central directory says the sheet unpacks to half its size."""
    body = bytearray(written)
    at = body.index(b"PK\x01\x02")  # the first central directory header
    while body[at + 46:at + 46 + len(member)] != member.encode():
        at = body.index(b"PK\x01\x02", at + 4)
    size = int.from_bytes(body[at + 24:at + 28], "little")
    body[at + 24:at + 28] = (size // 2).to_bytes(4, "little")
    return bytes(body)


@pytest.mark.parametrize("damage", [broken_xml, bad_crc, lying_size])
@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"])
def test_a_workbook_damaged_inside_a_sheet_is_refused_as_no_workbook(
        damage: Callable[[bytes, str], bytes],
        member: str) -> None:
    """Read-only mode unpacks a sheet only as its rows are read: the damage shows there, after
    the workbook opened, and must be refused as the upload's fault, not fail the server."""
    written = as_excel_saves_it(written_with(
        [EntrySpec.model_validate(factories.population_entry()) for _ in range(40)]))
    damaged = damage(written, member)
    open_workbook(io.BytesIO(damaged))  # opens: its sheets are not read yet
    with pytest.raises(NotAWorkbook):
        read_back(damaged)
