"""Reading a load's body (E1): every row with the line it begins on, whatever the chunks the
body arrives in, and every refusal with its line and reason; the rows as COPY takes them."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from services.exchange.copy_format import stored_rows
from services.exchange.exceptions import BadUpload
from services.exchange.upload_rows import Cleaned, Row, upload_body
from services.exchange.validation import RowRejected, RowValidator
from tests import factories

ITEMS = [{"code": "GMSFHM", "name": "公民身份号码", "data_type": "C", "length": 18},
         {"code": "XM", "name": "姓名", "data_type": "C", "length": 50},
         {"code": "CSRQ", "name": "出生日期", "data_type": "D"}]


async def chunks(body: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    at = 0
    for size in sizes:
        yield body[at:at + size]
        at += size
    yield body[at:]


async def read(body: bytes, media_type: str = "text/csv", sizes: tuple[int, ...] = ()
               ) -> list[tuple[int, object]]:
    """Every row as (line, cleaned row or the refusal's reason)."""
    reader = upload_body(media_type, RowValidator(ITEMS, ["GMSFHM"]))
    found: list[tuple[int, object]] = []
    last = 0
    async for block in reader.blocks(chunks(body, list(sizes))):
        assert block.first == last + 1, "blocks cover the lines one after the other"
        last = block.last
        found += [(line, outcome) for line, outcome in (
            (line, _cleaned(reader.clean, row)) for line, row in enumerate(block.rows,
                                                                            block.first)
            if row is not None) if outcome is not None]
    return found


def _cleaned(clean: Callable[[Row], Cleaned | None], row: Row | RowRejected) -> object:
    if isinstance(row, RowRejected):
        return str(row)
    try:
        cleaned = clean(row)
    except RowRejected as refused:
        return str(refused)
    return cleaned and cleaned[1]


async def test_each_csv_row_is_read_with_its_line_and_each_refusal_with_its_reason() -> None:
    one, two, three = (factories.id_number() for _ in range(3))
    body = (f"\ufeffGMSFHM,XM,CSRQ\r\n{one},张三,1990-01-01\r\n\r\n"
            f'"{two}","多行\n姓名, 带逗号",1991-01-01\n'
            "110101199003071234,错号,1990-03-07\n"
            f"{three},王五\n"
            f"{three},李\r四,1990-01-01\n").encode() + b"\xff\xfe,x,y\n" + (
            f'{one},"未闭合,1990-01-01\n').encode()
    assert await read(body) == [
        (2, {"GMSFHM": one, "XM": "张三", "CSRQ": "1990-01-01"}),
        (4, {"GMSFHM": two, "XM": "多行\n姓名, 带逗号", "CSRQ": "1991-01-01"}),
        (6, "GMSFHM: not a valid ID number (check digit)"),
        (7, "2 values for 3 columns"),
        (8, "not CSV (new-line character seen in unquoted field - do you need to open the "
            "file in universal-newline mode?)"),
        (9, "not UTF-8 (byte 0)"),
        (10, "a quoted value is never closed"),
    ]


async def test_rows_are_the_same_whatever_chunks_the_body_arrives_in() -> None:
    rows = [f"{factories.id_number()},{factories.person_name()},1990-01-0{day % 9 + 1}"
            for day in range(300)]
    rows[17] = f'"{factories.id_number()}","跨\n行",1990-01-01'
    rows[40] = "坏行"
    body = ("GMSFHM,XM,CSRQ\n" + "\n".join(rows)).encode()  # no line break at the end
    whole = await read(body)
    assert len(whole) == 300 and whole[-1][0] == 302  # the record at 18 takes two lines
    rng = random.Random(19)
    for _ in range(20):
        sizes = tuple(rng.choice([1, 2, 3, 7, 64, 1000]) for _ in range(len(body) // 50))
        assert await read(body, sizes=sizes) == whole


async def test_json_lines_are_read_with_their_lines() -> None:
    one = factories.id_number()
    body = (f'{{"GMSFHM": "{one}", "XM": "张三", "CSRQ": "1990-01-01"}}\n\n'
            '{"GMSFHM": "x"}\nnot json\n[1]\n{"HJDZ": "南京"}').encode()
    found = await read(body, "application/x-ndjson", sizes=(5, 5, 30))
    assert [(line, reason if isinstance(reason, str) else "ok") for line, reason in found] == [
        (1, "ok"), (3, "GMSFHM: not a valid ID number (18 characters, 17 digits first)"),
        (4, "not JSON (Expecting value: line 1 column 1 (char 0))"),
        (5, "not a JSON object"), (6, "unknown items: HJDZ")]


@pytest.mark.parametrize(("header", "refusal"), [
    ("GMSFHM,XM,HJDZ", "columns the entry does not have: HJDZ"),
    ("GMSFHM,XM,XM", "names XM more than once"),
    ("XM,CSRQ", "lacks the key items GMSFHM"),
    ("", "lacks the key items GMSFHM"),
])
async def test_a_header_that_does_not_fit_the_entry_refuses_the_load(header: str,
                                                                     refusal: str) -> None:
    with pytest.raises(BadUpload, match=refusal):
        await read(f"{header}\n{factories.id_number()},张三,1990-01-01\n".encode())


async def test_a_body_without_a_header_row_is_refused() -> None:
    with pytest.raises(BadUpload, match="no header row"):
        await read(b"")


async def test_a_line_not_utf8_inside_a_quoted_value_is_refused_at_its_line() -> None:
    one, two = factories.id_number(), factories.id_number()
    body = (f'GMSFHM,XM,CSRQ\n"{one}","多\n'.encode() + b"\xff\n"
            + f'行",1990-01-01\n\n{two},李四,1990-01-02\n'.encode())
    expected = [(2, {"GMSFHM": one, "XM": "多\n行", "CSRQ": "1990-01-01"}),
                (3, "not UTF-8 (byte 0)"), (6, {"GMSFHM": two, "XM": "李四",
                                                "CSRQ": "1990-01-02"})]
    assert await read(body) == expected
    for cut in range(1, len(body)):
        assert await read(body, sizes=(cut,)) == expected


def test_a_batch_is_written_in_postgresqls_binary_copy_format() -> None:
    at = datetime(2000, 1, 2, 0, 0, 1, 5, tzinfo=UTC)  # a day, a second and 5 µs after 2000
    written = stored_rows("1/000001", {"k": '{"XM": "张"}'}, at)
    data = '{"XM": "张"}'.encode()
    assert written == (
        b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\x00\x05"
        + b"\x00\x00\x00\x081/000001" + b"\x00\x00\x00\x01k"
        + len(data + b".").to_bytes(4, "big") + b"\x01" + data
        + b"\x00\x00\x00\x01\x00" + b"\x00\x00\x00\x08" + (86_401_000_005).to_bytes(8, "big")
        + b"\xff\xff")
