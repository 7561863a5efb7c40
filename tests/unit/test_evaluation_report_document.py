"""The yearly report as an official document (issue 20): the demo province's year rendered
as PDF/A and OFD and read back as a recipient's software would read it.

The demo year is the 40 departments `govshare demo seed` loads, with the findings a year
brings (a catalog not compiled, requests answered late, duplicate collection); 400 of them
show the charts and tables keep to the page.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ElementTree
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from jose.utils import base64url_decode, base64url_encode
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import (
    ContentStream,
    DictionaryObject,
    FloatObject,
    NumberObject,
    TextStringObject,
)

from cli.demo import credit_code_for
from cli.demo_data import DEPARTMENTS
from services.evaluation import report_document, report_fonts, report_signature, scoring
from services.evaluation.indicators import DepartmentIndicators
from services.evaluation.method import POINT_TEXT, default_method
from services.evaluation.render_ofd import ofd_of, to_ofd
from services.evaluation.render_pdf import to_pdf, typeset
from services.evaluation.report import DepartmentTrend, Summary, TrendPoint, YearReport
from services.evaluation.report_document import BARS_PER_CHART
from services.evaluation.systems import SystemUsage
from shared.contracts import Tier
from shared.contracts.reports import REPORT_SIGNATURE_TYPE, ReportFileFormat, ReportStatement
from shared.tokens import KeySet, SigningKey, generate_signing_key, sign_statement

PROVINCIAL = default_method(Tier.provincial)
NODE = "320000-internal"
ISSUER = "江苏省大数据管理中心"
# What an official document may show in Latin letters: the rules' short names (JS §19, 51 §24),
# the signature's algorithm and the command that checks it. Anything else is English that a
# Chinese reader should not find.
CODES = re.compile(r"JS§|51§|ES256|govsharereportverify")
OFD = "{http://www.ofdspec.org/2016}"


def demo_year(departments: int, year: int = 2026) -> YearReport:
    """A provincial year of `departments` departments (the demo's 40 names, numbered past
    them), some with findings."""
    names = [DEPARTMENTS[i % len(DEPARTMENTS)] + (f"（{i}）" if i >= len(DEPARTMENTS) else "")
             for i in range(departments)]
    counts = [DepartmentIndicators(
        department=credit_code_for(name), name=name, period=str(year),
        entries_published=0 if i % 7 == 3 else 5, requests_due=i % 5,
        requests_answered_on_time=max(i % 5 - (i % 3 == 0), 0),
        requests_answered_late=int(i % 3 == 0 and i % 5 > 0),
        duplicate_collections=int(i % 11 == 2)) for i, name in enumerate(names)]
    ranking = scoring.rank([scoring.score(item, PROVINCIAL) for item in counts])
    deadline = scoring.rectification_deadline(year, PROVINCIAL)
    findings = scoring.rectifications(ranking, PROVINCIAL, deadline)
    ineligible = scoring.funding_ineligible(ranking, PROVINCIAL, counts)
    zombie = SystemUsage(
        id=uuid.uuid4(), name="江苏省旧版审批业务系统", department=ranking[0].department,
        description="已停用的审批系统", funding_source="local_budget",
        construction_funding=Decimal("1200000.00"), annual_om_funding=Decimal("350000.00"),
        resource_codes=[], client_ids=[], status="filed", filed_by="editor",
        filed_at=datetime(year, 3, 1, tzinfo=UTC), retired_at=None, version=1,
        period=str(year), calls_made=0, accesses_served=3, zombie=True)
    return YearReport(
        year=year, tier=Tier.provincial, issuer=ISSUER,
        due_on=scoring.report_due_on(year, PROVINCIAL),
        due_basis=PROVINCIAL.report_basis, method_version=None, method=PROVINCIAL,
        summary=Summary(
            departments=len(ranking),
            mean_score=round(sum(item.score for item in ranking) / len(ranking), 2),
            requests_due=sum(item.requests_due for item in counts),
            requests_answered_on_time=sum(item.requests_answered_on_time for item in counts),
            objections_raised=0, accesses=12, rectification_items=len(findings),
            departments_to_rectify=len({item.department for item in findings}),
            funding_ineligible=len(ineligible), systems=1, zombie_systems=1,
            zombie_annual_om_funding="350000.00"),
        ranking=ranking, indicators=counts,
        trends=[DepartmentTrend(department=item.department, name=item.name, points=[
            TrendPoint(period=f"{year}-Q{quarter}",
                       score=max(item.score - 6 * (4 - quarter) - index % 4, 0))
            for quarter in range(1, 5)]) for index, item in enumerate(ranking)],
        rectifications=findings, rectification_deadline=deadline,
        funding_ineligible=ineligible, systems=[zombie],
        point_text={point: POINT_TEXT.get(point, "") for rule in PROVINCIAL.indicators.values()
                    for point in rule.points},
        generated_at=datetime(year + 1, 1, 10, 18, 30, tzinfo=UTC))  # the 11th in China


class KeySigner:
    """The node's signature as its identity service gives it, with a key of the test's."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    async def sign(self, statement: ReportStatement) -> str:
        return sign_statement(self.key, {**statement.model_dump(mode="json"), "iss": NODE},
                              REPORT_SIGNATURE_TYPE)

    def keys(self) -> KeySet:
        async def published() -> dict[str, Any]:
            return {"keys": [self.key.public_jwk()]}

        return KeySet(published)


async def signed(data: bytes, format: ReportFileFormat, signer: KeySigner,
                 report: YearReport) -> bytes:
    return await report_signature.sign(
        report_signature.prepare(data, format), year=report.year, tier=report.tier,
        signed_at=datetime.now(UTC), signer=signer)


@pytest.fixture(scope="module")
def report() -> YearReport:
    return demo_year(40)


@pytest.fixture(scope="module")
def signer() -> KeySigner:
    return KeySigner(generate_signing_key())


@pytest.fixture(scope="module")
async def pdf(report: YearReport, signer: KeySigner) -> bytes:
    return await signed(to_pdf(report), ReportFileFormat.pdf, signer, report)


@pytest.fixture(scope="module")
async def ofd(report: YearReport, signer: KeySigner) -> bytes:
    return await signed(to_ofd(report), ReportFileFormat.ofd, signer, report)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_texts(pdf: bytes) -> list[str]:
    return [compact(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def english(text: str) -> list[str]:
    """The words of `text` in Latin letters, but for the codes a Chinese document cites."""
    return re.findall(r"[A-Za-z]+", CODES.sub("", compact(text)))


# --- PDF: the text, the fonts, the pages ----------------------------------------------------


def test_the_pdf_reads_back_as_the_documents_text(report: YearReport, pdf: bytes) -> None:
    text = "".join(page_texts(pdf))
    expected = report_document.build(report).strings()
    assert [string for string in expected if compact(string) not in text] == []
    assert "\ufffd" not in text
    names = {item.name for item in report.ranking}
    assert all(name in text for name in names) and len(names) == 40


def _fonts(pdf: bytes) -> list[DictionaryObject]:
    reader = PdfReader(io.BytesIO(pdf))
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts += [descendant.get_object() for descendant in font["/DescendantFonts"]] \
                if "/DescendantFonts" in font else [font]
    return fonts


def test_every_font_of_the_pdf_is_embedded(pdf: bytes) -> None:
    fonts = _fonts(pdf)
    assert fonts
    for font in fonts:
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]
    families = {str(font["/BaseFont"]).split("+")[1].split("-Identity")[0] for font in fonts}
    assert families == {"NotoSerifSC-Regular", "NotoSansSC-Regular"}


def test_the_pdf_is_pdf_a_2b_property_by_property_once_signed(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(="|>)2', xmp) and re.search(r'pdfaid:conformance(="|>)B',
                                                                 xmp)
    title = "2026年度政务信息资源共享评价报告"
    assert title in xmp  # dc:title, as the information dictionary's
    assert reader.metadata is not None and reader.metadata.title == title
    (intent,) = [item.get_object() for item in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 3 and icc[36:40] == b"acsp" and icc[16:20] == b"RGB "
    assert "/Encrypt" not in reader.trailer and len(reader.trailer["/ID"]) == 2
    assert "/JavaScript" not in str(root.get("/Names", {})) and "/OpenAction" not in root
    raw = pdf.decode("latin-1")
    for forbidden in ("/JavaScript", "/Launch", "/URI", "/EmbeddedFiles", "/GoToR",
                      "/ImportData", "/SubmitForm"):
        assert forbidden not in raw, forbidden  # nothing runs, nothing outside is referred to
    assert pdf.endswith(b"%%EOF\n") and pdf.count(b"%%EOF") == 2  # Typst's, the signature's


def test_no_text_of_the_pdf_falls_on_a_missing_glyph(report: YearReport, pdf: bytes) -> None:
    text = "".join(report_document.build(report).strings())
    for family in report_fonts.font_files():
        assert report_fonts.missing_glyphs(text, family) == set(), family
    reader = PdfReader(io.BytesIO(pdf))
    shown = 0
    for page in reader.pages:
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator not in (b"Tj", b"TJ"):
                continue
            parts = operands[0] if operator == b"TJ" else [operands[0]]
            for part in parts:  # Identity-H: two bytes a glyph; 0 is .notdef, the empty box
                if isinstance(part, NumberObject | FloatObject):
                    continue  # a kerning
                code = (part.get_original_bytes() if isinstance(part, TextStringObject)
                        else bytes(part))
                glyphs = [code[i:i + 2] for i in range(0, len(code), 2)]
                assert b"\x00\x00" not in glyphs
                shown += len(glyphs)
    assert shown > 2000


def test_poppler_renders_every_page_with_the_title_in_ink(pdf: bytes, tmp_path: Path) -> None:
    assert shutil.which("pdftoppm"), "Debian's poppler-utils is needed (.ci/run installs it)"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    result = subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines()
                if "font" in line.lower() or "glyph" in line.lower()]
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    cover = Image.open(rendered[0]).convert("L")
    width, height = cover.size
    title = cover.crop((0, int(height * 0.15), width, int(height * 0.25)))
    assert sum(1 for value in title.get_flattened_data() if value < 160) > 500  # the title is drawn


# --- the report's shape: cover, numbers, charts, tables, the rectification notice ------------


def test_the_cover_gives_tier_period_and_date_and_every_page_its_number(pdf: bytes) -> None:
    pages = page_texts(pdf)
    assert "评价层级省级" in pages[0] and "评价期间2026年1月1日至2026年12月31日" in pages[0]
    assert "报告日期2027年1月11日" in pages[0] and "报送期限2027年1月31日前（JS§19）" in pages[0]
    for number, text in enumerate(pages, 1):
        assert text.endswith(f"第{number}页共{len(pages)}页"), number


def test_every_page_but_the_cover_runs_the_issuer_and_year_in_chinese(pdf: bytes) -> None:
    head = compact(f"{ISSUER} 政务信息资源共享评价报告（2026年度）")
    pages = page_texts(pdf)
    assert head not in pages[0]
    assert all(text.startswith(head) for text in pages[1:])
    assert english(report_document.build(demo_year(3)).running_head) == []


def test_the_cover_and_the_sign_off_are_chinese_and_name_the_issuer(
        pdf: bytes, ofd: bytes) -> None:
    pages = page_texts(pdf)
    assert ISSUER in pages[0] and "评价层级省级" in pages[0]
    assert ("评价方法江苏省政务信息资源共享评价方法（苏政发〔2017〕133号），本层级默认方法"
            in pages[0])
    assert english(pages[0]) == []
    assert pages[-1].endswith(f"{ISSUER}2027年1月11日第{len(pages)}页共{len(pages)}页")
    assert PdfReader(io.BytesIO(pdf)).metadata.author == ISSUER  # type: ignore[union-attr]
    assert f"<ofd:Author>{ISSUER}</ofd:Author>" in zipfile.ZipFile(
        io.BytesIO(ofd)).read("OFD.xml").decode()


def test_the_rectification_notice_cites_the_articles_and_the_deadline(
        report: YearReport, pdf: bytes) -> None:
    pages = page_texts(pdf)
    text = "".join(pages)
    assert ("依据《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第二十四条和《江苏省政务"
            "信息资源共享管理暂行办法》（苏政发〔2017〕133号）第二十五条") in text
    assert "请于2027年4月1日前完成整改" in text
    assert report.rectifications and all(
        compact(f"{point} {POINT_TEXT[point]}") in text
        for item in report.rectifications for point in item.points)
    (table,) = [block for block in report_document.build(report).sections[4].blocks
                if isinstance(block, report_document.Table)]
    for row in table.rows:  # each finding whole on one page, never cut in two
        assert any(compact("".join(row)) in page for page in pages), row


def _table(report: YearReport, section: str) -> report_document.Table:
    (table,) = [block for found in report_document.build(report).sections if found.key == section
                for block in found.blocks if isinstance(block, report_document.Table)]
    return table


def test_the_facts_and_the_funding_reasons_read_in_chinese(report: YearReport,
                                                           pdf: bytes) -> None:
    facts = [row[4] for row in _table(report, "rectification").rows]
    reasons = [row[2] for row in _table(report, "funding").rows]
    assert facts and reasons
    assert [text for text in facts + reasons if english(text)] == []
    text = "".join(page_texts(pdf))
    assert "重复采集可共享获得的信息项1个" in text and "得分51.67，低于合格分60" in text
    assert "1 items collected again" in [item.evidence for item in report.rectifications]


def test_the_systems_table_names_the_department_the_funding_and_the_status(
        report: YearReport) -> None:
    (row,) = _table(report, "systems").rows
    assert row[1] == report.ranking[0].name and row[2] == "地方财政" and row[5] == "僵尸系统"
    assert [cell for cell in row if english(cell)] == []
    filed = report.model_copy(update={"systems": [report.systems[0].model_copy(
        update={"zombie": False})]})
    assert _table(filed, "systems").rows[0][5] == "已备案"


@pytest.mark.parametrize("departments", [40, 400])
def test_the_ranking_charts_come_a_page_at_a_time_and_tables_repeat_their_header(
        departments: int) -> None:
    built = demo_year(departments)
    charts = [block for block in report_document.build(built).sections[1].blocks
              if isinstance(block, report_document.Bars)]
    assert len(charts) == -(-departments // BARS_PER_CHART)
    assert all(len(chart.bars) <= BARS_PER_CHART for chart in charts)
    pages = page_texts(to_pdf(built))
    for chart in charts:  # each chart whole on one page: its caption and its last bar
        (page,) = [text for text in pages if compact(chart.caption) in text]
        assert compact(chart.bars[-1].label) in page
    codes = {item.department for item in built.ranking}
    table_pages = [text for text in pages
                   if any(code in text for code in codes) and "信息系统备案" not in text]
    assert len(table_pages) >= departments // 50  # 400 rows run over 8 pages and more
    assert all("名次部门统一社会信用代码得分" in text for text in table_pages)


def tables_at_every_height() -> report_document.ReportDocument:
    """Tables of five rows after texts of growing length, so that over a dozen pages some
    table comes to start at the foot of a page."""
    blocks: list[report_document.Block] = []
    for number in range(1, 41):
        blocks += [report_document.Text("政务信息资源共享" * (7 * (number % 9) + 1)),
                   report_document.Table([f"表{number}表头", "内容"], [
                       [f"表{number}第{row}行", "共享"] for row in range(1, 6)])]
    return dataclasses.replace(report_document.build(demo_year(1)), sections=[
        report_document.Section("tables", "表格", blocks)])


def _ofd_pages(ofd: bytes) -> list[str]:
    return [compact("".join(text.find(f"{OFD}TextCode").text or ""  # type: ignore[union-attr]
                            for text in page)) for page in _ofd_text_objects(ofd)[1]]


def test_a_table_begins_on_a_page_with_its_header_and_first_three_rows() -> None:
    document = tables_at_every_height()
    generated = datetime(2027, 1, 10, tzinfo=UTC)
    for pages in (page_texts(typeset(document, generated)),
                  _ofd_pages(ofd_of(document, generated))):
        for number in range(1, 41):
            page = next(text for text in pages if f"表{number}表头" in text)
            assert all(f"表{number}第{row}行" in page for row in (1, 2, 3)), (number, page)


def test_a_year_without_departments_still_makes_every_file() -> None:
    empty = demo_year(1).model_copy(update={"ranking": [], "indicators": [], "trends": [],
                                            "rectifications": [], "funding_ineligible": [],
                                            "systems": []})
    assert PdfReader(io.BytesIO(to_pdf(empty))).pages
    assert zipfile.ZipFile(io.BytesIO(to_ofd(empty))).testzip() is None


# --- the signature --------------------------------------------------------------------------


async def _fails_after_each_change(data: bytes, signer: KeySigner) -> None:
    keys = signer.keys()
    claims = await report_signature.verify(data, keys)
    assert claims["iss"] == NODE and claims["length"] == len(data)
    start, end = claims["excluded"]
    positions = {0, 7, len(data) // 3, len(data) // 2, start - 1, start, start + 40,
                 end - 1, end, len(data) - 1, *range(0, len(data), max(len(data) // 40, 1))}
    for position in sorted(positions & set(range(len(data)))):
        changed = bytearray(data)
        changed[position] ^= 0x01
        with pytest.raises(report_signature.SignatureInvalid):
            await report_signature.verify(bytes(changed), keys)
    with pytest.raises(report_signature.SignatureInvalid):  # another node's key
        await report_signature.verify(data, KeySigner(generate_signing_key()).keys())
    for other in _other_forms_of_the_signature(data[start:end].rstrip(b" ").decode()):
        with pytest.raises(report_signature.SignatureInvalid, match="place was changed"):
            await report_signature.verify(
                data[:start] + other.encode().ljust(end - start) + data[end:], keys)


def _other_forms_of_the_signature(jws: str) -> list[str]:
    """Two JWSs of the same statement that a key's holder never wrote but that verify as
    well: ECDSA's (r, n−s), and the last base64url character with its unread bits set."""
    signing_input, _, encoded = jws.rpartition(".")
    raw = base64url_decode(encoded.encode())
    mirrored = report_signature.P256_ORDER - int.from_bytes(raw[32:], "big")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(encoded[-1]) | 0b1111]  # 64 bytes leave 4 bits unread
    high_s = base64url_encode(raw[:32] + mirrored.to_bytes(32, "big")).decode()
    return [f"{signing_input}.{high_s}", f"{signing_input}.{encoded[:-1]}{last}"]


async def test_the_signed_pdf_verifies_and_fails_after_any_one_byte_changes(
        pdf: bytes, signer: KeySigner) -> None:
    await _fails_after_each_change(pdf, signer)


async def test_the_signed_ofd_verifies_and_fails_after_any_one_byte_changes(
        ofd: bytes, signer: KeySigner) -> None:
    await _fails_after_each_change(ofd, signer)


# --- OFD ------------------------------------------------------------------------------------


def _ofd_text_objects(ofd: bytes) -> tuple[zipfile.ZipFile, list[list[ElementTree.Element]]]:
    package = zipfile.ZipFile(io.BytesIO(ofd))
    root = ElementTree.fromstring(package.read("OFD.xml"))
    document_path = root.find(f"{OFD}DocBody/{OFD}DocRoot").text  # type: ignore[union-attr]
    document = ElementTree.fromstring(package.read(document_path))
    base = document_path.rsplit("/", 1)[0]
    pages = [ElementTree.fromstring(package.read(f"{base}/{page.get('BaseLoc')}"))
             for page in document.iter(f"{OFD}Page")]
    return package, [list(page.iter(f"{OFD}TextObject")) for page in pages]


def test_the_ofd_holds_the_documents_text_in_the_fonts_it_carries(
        report: YearReport, ofd: bytes) -> None:
    package, pages = _ofd_text_objects(ofd)
    resources = ElementTree.fromstring(package.read("Doc_0/PublicRes.xml"))
    fonts = {font.get("ID"): TTFont(io.BytesIO(package.read(
        f"Doc_0/{resources.get('BaseLoc')}/{font.find(f'{OFD}FontFile').text}"))).getBestCmap()
        for font in resources.iter(f"{OFD}Font")}
    assert len(fonts) == 2
    assert "<ofd:CreationDate>2027-01-11</ofd:CreationDate>" in package.read("OFD.xml").decode()
    body = []
    for number, objects in enumerate(pages, 1):
        texts = []
        for text_object in objects:
            code = text_object.find(f"{OFD}TextCode")
            text = code.text or ""  # type: ignore[union-attr]
            assert {char for char in text if ord(char) not in fonts[text_object.get("Font")]
                    } == set()
            deltas = code.get("DeltaX", "").split()  # type: ignore[union-attr]
            assert len(deltas) == len(text) - 1
            texts.append(text)
        assert texts[-1] == f"第 {number} 页 共 {len(pages)} 页"
        body.append("".join(texts[:-2] if number > 1 else texts[:-1]))  # no head, no number
    text = compact("".join(body))
    expected = report_document.build(report).strings()
    assert [string for string in expected if compact(string) not in text] == []
