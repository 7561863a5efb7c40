"""The yearly report as OFD (GB/T 33190-2016), the format of Chinese official electronic
documents: a zip of XML (OFD.xml, Doc_0/Document.xml, one Content.xml a page) carrying its
own font, a subset of Noto Serif SC and Noto Sans SC.

It sets the same document as the PDF (report_document.py) with a plain layout of its own:
text measured with the fonts' advance widths and wrapped, tables ruled with their header
repeated on each page, bar and line charts as path objects, a page number on every page.
`easyofd` was not used: it rasterises PDF pages into images, or writes their text without
a font (left to the viewer's substitute) and drops the rules and charts (docs/evaluation.md).
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from itertools import count
from xml.sax.saxutils import escape, quoteattr

from services.evaluation import report_document, report_fonts
from services.evaluation.report import YearReport
from services.evaluation.report_document import Bars, Block, Lines, Table, Text
from shared.workdays import CHINA_TIME

NAMESPACE = "http://www.ofdspec.org/2016"
PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 20.0, 190.0, 25.0, 275.0
BODY_SIZE, TABLE_SIZE, HEADING_SIZE = 3.7, 3.2, 4.9
BAR_STEP, LINES_HEIGHT = 4.6, 50.0
FIRST_ROWS = 3  # a table begins on a page with its header and at least these rows
ACCENT, RULE, GREY = "31 95 168", "154 167 180", "90 90 90"
FONT_IDS = {report_fonts.BODY: 1, report_fonts.HEADING: 2}
FONT_FILES = {report_fonts.BODY: "NotoSerifSC-subset.otf",
              report_fonts.HEADING: "NotoSansSC-subset.otf"}
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def width_of(text: str, size: float, family: str = report_fonts.BODY) -> float:
    widths, units = report_fonts.advances(family)
    return sum(widths.get(ord(char), units) for char in text) * size / units


def wrap(text: str, width: float, size: float, family: str = report_fonts.BODY) -> list[str]:
    """`text` in lines no wider than `width`: Chinese breaks anywhere, a Latin word only at a
    space (unless it is wider than a line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            if line and width_of(line + char, size, family) > width:
                cut = line.rfind(" ")
                if char != " " and cut > 0 and line[-1].isascii() and line[-1].isalnum():
                    lines.append(line[:cut])
                    line = line[cut + 1:]
                else:
                    lines.append(line)
                    line = ""
                if char == " " and not line:
                    continue
            line += char
        lines.append(line)
    return lines


@dataclass
class Layout:
    """Pages of OFD page objects, filled from the top down."""

    pages: list[list[str]] = field(default_factory=lambda: [[]])
    y: float = TOP
    ids: Iterator[int] = field(default_factory=lambda: count(10))
    used: dict[str, set[str]] = field(default_factory=lambda: {family: set()
                                                                for family in FONT_IDS})

    def room(self, height: float) -> bool:
        """Make room for `height` mm, on a new page if need be; whether one was begun."""
        if self.y + height <= BOTTOM or self.y == TOP:
            return False
        self.pages.append([])
        self.y = TOP
        return True

    def text(self, x: float, baseline: float, text: str, size: float, *,
             family: str = report_fonts.BODY, colour: str | None = None,
             page: list[str] | None = None) -> None:
        text = _UNPRINTABLE.sub("", text).rstrip()
        if not text.strip():
            return
        self.used[family].update(text)
        widths, units = report_fonts.advances(family)
        deltas = " ".join(f"{widths.get(ord(char), units) * size / units:.3f}"
                          for char in text[:-1])
        fill = f'<ofd:FillColor Value="{colour}"/>' if colour else ""
        (self.pages[-1] if page is None else page).append(
            f'<ofd:TextObject ID="{next(self.ids)}" Boundary="{x:.2f} {baseline - size:.2f} '
            f'{width_of(text, size, family) + 1:.2f} {size * 1.4:.2f}" '
            f'Font="{FONT_IDS[family]}" Size="{size}">{fill}'
            f'<ofd:TextCode X="0" Y="{size:.2f}"'
            + (f' DeltaX="{deltas}"' if deltas else "")
            + f">{escape(text)}</ofd:TextCode></ofd:TextObject>")

    def path(self, data: str, *, stroke: str | None = None, fill: str | None = None,
             width: float = 0.2) -> None:
        colours = (f'<ofd:StrokeColor Value="{stroke}"/>' if stroke else "") + (
            f'<ofd:FillColor Value="{fill}"/>' if fill else "")
        self.pages[-1].append(
            f'<ofd:PathObject ID="{next(self.ids)}" Boundary="0 0 {PAGE_WIDTH} {PAGE_HEIGHT}" '
            f'LineWidth="{width}" Stroke="{str(bool(stroke)).lower()}" '
            f'Fill="{str(bool(fill)).lower()}">{colours}'
            f"<ofd:AbbreviatedData>{data}</ofd:AbbreviatedData></ofd:PathObject>")

    def rule(self, x1: float, y1: float, x2: float, y2: float, colour: str = RULE) -> None:
        self.path(f"M {x1:.2f} {y1:.2f} L {x2:.2f} {y2:.2f}", stroke=colour)

    def box(self, x: float, y: float, width: float, height: float, colour: str) -> None:
        if width > 0:
            self.path(f"M {x:.2f} {y:.2f} L {x + width:.2f} {y:.2f} L {x + width:.2f} "
                      f"{y + height:.2f} L {x:.2f} {y + height:.2f} C", fill=colour)

    def paragraph(self, text: str, size: float = BODY_SIZE, *, x: float = LEFT,
                  width: float = RIGHT - LEFT, family: str = report_fonts.BODY,
                  colour: str | None = None) -> None:
        for line in wrap(text, width, size, family):
            self.room(size * 1.6)
            self.y += size * 1.6
            self.text(x, self.y - size * 0.4, line, size, family=family, colour=colour)


def to_ofd(report: YearReport) -> bytes:
    """The report as an OFD file; unsigned (`report_signature.sign` adds the signature)."""
    return ofd_of(report_document.build(report), report.generated_at)


def ofd_of(document: report_document.ReportDocument, generated_at: datetime) -> bytes:
    """A document laid out as an OFD file, dated `generated_at` (in China's day)."""
    layout = Layout()
    _cover(layout, document)
    for number, section in enumerate(document.sections, 1):
        # A heading stays with the start of its first block (a chart: all of it).
        layout.room(HEADING_SIZE * 3 + (_height(section.blocks[0]) if section.blocks else 0))
        layout.y += HEADING_SIZE * 2.2
        layout.text(LEFT, layout.y, f"{_chinese_number(number)}、{section.title}",
                    HEADING_SIZE, family=report_fonts.HEADING, colour=ACCENT)
        layout.y += HEADING_SIZE * 0.6
        for block in section.blocks:
            _block(layout, block)
    _sign_off(layout, document.sign_off)
    _furniture(layout, document.running_head)
    return _package(layout, document, generated_at)


def _sign_off(layout: Layout, lines: list[str]) -> None:
    """落款: the issuing node and the date, right-aligned, on one page."""
    layout.room(BODY_SIZE * 2.2 * (len(lines) + 2))
    layout.y += BODY_SIZE * 2.2
    for line in lines:
        layout.y += BODY_SIZE * 2.2
        layout.text(RIGHT - width_of(line, BODY_SIZE), layout.y, line, BODY_SIZE)


def _cover(layout: Layout, document: report_document.ReportDocument) -> None:
    size = 8.5
    layout.text((PAGE_WIDTH - width_of(document.title, size, report_fonts.HEADING)) / 2, 70,
                document.title, size, family=report_fonts.HEADING, colour=ACCENT)
    layout.text((PAGE_WIDTH - width_of(document.subtitle, 5, report_fonts.HEADING)) / 2, 84,
                document.subtitle, 5, family=report_fonts.HEADING)
    layout.y = 105
    for label, value in document.cover:
        layout.text(75 - width_of(label, BODY_SIZE, report_fonts.HEADING), layout.y + 5,
                    label, BODY_SIZE, family=report_fonts.HEADING)
        layout.paragraph(value, x=80, width=95)
        layout.y += 3
    layout.y = BOTTOM - 12
    layout.paragraph(document.closing, 3.2, colour=GREY)
    layout.pages.append([])
    layout.y = TOP


def _block(layout: Layout, block: Block) -> None:
    if isinstance(block, Text):
        layout.paragraph(block.text)
        layout.y += 2
    elif isinstance(block, Table):
        _table(layout, block)
    elif isinstance(block, Bars):
        _bars(layout, block)
    elif isinstance(block, Lines):
        _lines(layout, block)


def _height(block: Block) -> float:
    """What a block needs on one page: a chart whole, text or a table a few lines."""
    if isinstance(block, Bars):
        return BAR_STEP * (len(block.bars) + 3) + -(-len(block.legend) // 4) * 5 + 8
    if isinstance(block, Lines):
        return LINES_HEIGHT + 22
    return 20


def _table(layout: Layout, table: Table) -> None:
    total = sum(table.widths) if len(table.widths) == len(table.header) else len(table.header)
    fractions = table.widths if len(table.widths) == len(table.header) else [1] * total
    edges = [LEFT]
    for fraction in fractions:
        edges.append(edges[-1] + (RIGHT - LEFT) * fraction / total)
    leading, pad = TABLE_SIZE * 1.4, 0.8

    def wrapped_cells(cells: list[str], family: str) -> list[list[str]]:
        return [wrap(cell, edges[i + 1] - edges[i] - 2 * pad, TABLE_SIZE, family)
                for i, cell in enumerate(cells)]

    def height_of(cells: list[str], family: str) -> float:
        return max(len(lines) for lines in wrapped_cells(cells, family)) * leading + 2 * pad

    def row(cells: list[str], family: str, header: bool) -> None:
        wrapped = wrapped_cells(cells, family)
        height = max(len(lines) for lines in wrapped) * leading + 2 * pad
        if layout.room(height) and not header:
            row(table.header, report_fonts.HEADING, True)
        top = layout.y
        if header:
            layout.box(LEFT, top, RIGHT - LEFT, height, "232 238 246")
        for i, lines in enumerate(wrapped):
            for n, line in enumerate(lines):
                layout.text(edges[i] + pad, top + pad + (n + 1) * leading - TABLE_SIZE * 0.35,
                            line, TABLE_SIZE, family=family)
        layout.rule(LEFT, top, RIGHT, top)
        layout.rule(LEFT, top + height, RIGHT, top + height)
        for edge in edges:
            layout.rule(edge, top, edge, top + height)
        layout.y = top + height

    layout.y += 1
    # The header begins a page with its first rows, never alone or with one row at its foot.
    layout.room(sum(height_of(cells, family) for cells, family in [
        (table.header, report_fonts.HEADING),
        *((cells, report_fonts.BODY) for cells in table.rows[:FIRST_ROWS])]))
    row(table.header, report_fonts.HEADING, True)
    for cells in table.rows:
        row(cells, report_fonts.BODY, False)
    layout.y += 3


def _bars(layout: Layout, chart: Bars) -> None:
    step, label_right, bar_left, bar_width = BAR_STEP, LEFT + 52, LEFT + 54, 100.0
    legend_rows = -(-len(chart.legend) // 4)
    layout.room(_height(chart))
    layout.paragraph(chart.caption, 3.4, family=report_fonts.HEADING)
    top = layout.y + 1
    for index, bar in enumerate(chart.bars):
        y = top + index * step
        label = wrap(bar.label, 52, 2.8)[0]
        layout.text(label_right - width_of(label, 2.8), y + 3.4, label, 2.8)
        layout.box(bar_left, y + 0.7, bar_width, 3.2, "241 244 248")
        x = bar_left
        for part, colour in zip(bar.parts, chart.colours, strict=False):
            layout.box(x, y + 0.7, bar_width * max(part, 0) / 100, 3.2, _rgb(colour))
            x += bar_width * max(part, 0) / 100
        layout.text(bar_left + bar_width + 2, y + 3.4, bar.value, 2.8)
    axis = top + len(chart.bars) * step + 1
    layout.rule(bar_left, axis, bar_left + bar_width, axis, GREY)
    for tick in range(0, 101, 20):
        layout.text(bar_left + tick - 1, axis + 3.5, str(tick), 2.4, colour=GREY)
    layout.y = axis + 5
    for index, label in enumerate(chart.legend):
        x, y = LEFT + (index % 4) * 42, layout.y + (index // 4) * 5
        layout.box(x, y + 0.6, 3, 3, _rgb(chart.colours[index]))
        layout.text(x + 4.5, y + 3.3, label, 2.8)
    layout.y += legend_rows * 5 + 4


def _lines(layout: Layout, chart: Lines) -> None:
    width, height = 100.0, LINES_HEIGHT
    layout.room(_height(chart))
    layout.paragraph(chart.caption, 3.4, family=report_fonts.HEADING)
    left, top = LEFT + 10, layout.y + 3
    step = width / max(len(chart.categories) - 1, 1)
    for tick in range(0, 101, 20):
        y = top + height - tick / 100 * height
        layout.rule(left, y, left + width, y, "213 219 226")
        layout.text(left - 8, y + 1, str(tick), 2.4, colour=GREY)
    for index, category in enumerate(chart.categories):
        layout.text(left + index * step - 6, top + height + 5, category, 2.6)
    for index, line in enumerate(chart.lines):
        points = [(left + i * step, top + height - value / 100 * height)
                  for i, value in enumerate(line.values) if value is not None]
        if len(points) > 1:
            layout.path(" ".join(f"{'M' if i == 0 else 'L'} {x:.2f} {y:.2f}"
                                 for i, (x, y) in enumerate(points)),
                        stroke=_rgb(line.colour), width=0.5)
        legend_y = top + index * 4.6
        layout.box(left + width + 6, legend_y + 1.2, 4, 1.2, _rgb(line.colour))
        layout.text(left + width + 11, legend_y + 2.6, line.name, 2.6)
    layout.y = top + height + 10


def _furniture(layout: Layout, running_head: str) -> None:
    """The running head on every page but the cover, and a page number on every page."""
    total = len(layout.pages)
    for number, page in enumerate(layout.pages, 1):
        if number > 1:
            layout.text(LEFT, 15, running_head, 3, colour=GREY, page=page)
            page.append(f'<ofd:PathObject ID="{next(layout.ids)}" Boundary="0 0 {PAGE_WIDTH} '
                        f'{PAGE_HEIGHT}" LineWidth="0.2"><ofd:StrokeColor Value="{RULE}"/>'
                        f"<ofd:AbbreviatedData>M {LEFT} 17 L {RIGHT} 17"
                        "</ofd:AbbreviatedData></ofd:PathObject>")
        footer = f"第 {number} 页 共 {total} 页"
        layout.text((PAGE_WIDTH - width_of(footer, 3.2)) / 2, 286, footer, 3.2, page=page)


def _package(layout: Layout, document: report_document.ReportDocument,
             generated_at: datetime) -> bytes:
    pages = layout.pages
    fonts = {family: report_fonts.subset_font(family, "".join(sorted(chars)) or " ")
             for family, chars in layout.used.items()}
    page_ids = [next(layout.ids) for _ in pages]
    layer_ids = [next(layout.ids) for _ in pages]
    created = generated_at.astimezone(CHINA_TIME)  # the cover's date, China's day
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        def put(name: str, content: bytes | str) -> None:
            info = zipfile.ZipInfo(name, date_time=created.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, content)

        put("OFD.xml", _xml("OFD", Version="1.0", DocType="OFD", body=(
            f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>{uuid.uuid4().hex}</ofd:DocID>"
            f"<ofd:Title>{escape(document.title)}</ofd:Title>"
            f"<ofd:Author>{escape(document.author)}</ofd:Author>"
            f"<ofd:CreationDate>{created.date().isoformat()}</ofd:CreationDate>"
            "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>")))
        put("Doc_0/Document.xml", _xml("Document", body=(
            f"<ofd:CommonData><ofd:MaxUnitID>{next(layout.ids)}</ofd:MaxUnitID>"
            f"<ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE_WIDTH} {PAGE_HEIGHT}</ofd:PhysicalBox>"
            "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
            "<ofd:Pages>" + "".join(
                f'<ofd:Page ID="{page_id}" BaseLoc="Pages/Page_{index}/Content.xml"/>'
                for index, page_id in enumerate(page_ids)) + "</ofd:Pages>")))
        put("Doc_0/PublicRes.xml", _xml("Res", BaseLoc="Res", body="<ofd:Fonts>" + "".join(
            f'<ofd:Font ID="{FONT_IDS[family]}" FontName={quoteattr(family)} '
            f"FamilyName={quoteattr(family)}><ofd:FontFile>{FONT_FILES[family]}</ofd:FontFile>"
            "</ofd:Font>" for family in FONT_IDS) + "</ofd:Fonts>"))
        for family, data in fonts.items():
            put(f"Doc_0/Res/{FONT_FILES[family]}", data)
        for index, (objects, layer_id) in enumerate(zip(pages, layer_ids, strict=True)):
            put(f"Doc_0/Pages/Page_{index}/Content.xml", _xml("Page", body=(
                f'<ofd:Content><ofd:Layer ID="{layer_id}">{"".join(objects)}</ofd:Layer>'
                "</ofd:Content>")))
    return buffer.getvalue()


def _xml(root: str, *, body: str, **attributes: str) -> str:
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:{root} xmlns:ofd="{NAMESPACE}"'
            f"{attrs}>{body}</ofd:{root}>")


def _rgb(colour: str) -> str:
    """#1f5fa8 → "31 95 168", as OFD writes a colour."""
    return " ".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5))


def _chinese_number(number: int) -> str:
    return "一二三四五六七八九十"[number - 1] if number <= 10 else str(number)
