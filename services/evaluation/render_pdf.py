"""The yearly report as a PDF (A4) for printing and filing.

Chinese text uses STSong-Light, one of the CID fonts every PDF reader carries, so the file
embeds no font and the machine that renders it needs none installed.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.evaluation.report import INDICATOR_LABELS, PALETTE, SECTIONS, YearReport
from services.evaluation.scoring import DepartmentScore

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=12.5, leading=18, spaceBefore=10,
                         spaceAfter=4, textColor=colors.HexColor(PALETTE[0]))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11.5)
WIDTH = A4[0] - 30 * mm
BAR_HEIGHT, BARS_PER_CHART = 16, 36  # 36 bars and a legend fit an A4 frame


def to_pdf(report: YearReport) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                 topMargin=15 * mm, bottomMargin=15 * mm,
                                 title=f"Sharing evaluation report {report.year}",
                                 author="govshare")
    story: list[Flowable] = [
        Paragraph(f"{report.year} 年度政务信息资源共享评价报告<br/>"
                  f"Sharing evaluation report {report.year}", TITLE),
        _text(f"{report.tier} tier · due by {report.due_on} ({report.due_basis}) · method "
              f"“{report.method.name}” "
              f"{'v' + str(report.method_version) if report.method_version else '(default)'}"),
    ]
    story += _section("summary", _summary_table(report))
    story += _section("ranking", *map(_ranking_chart, _pages_of(report.ranking)), _table(
        ["Rank", "Department", "Credit code", "Score"],
        [[item.rank, item.name, item.department, item.score] for item in report.ranking]))
    story += _section("breakdown", *map(_breakdown_chart, _pages_of(report.ranking)), _table(
        ["Department", *INDICATOR_LABELS.values()],
        [[item.name, *(f"{part.rate:.0%}" for part in item.indicators)]
         for item in report.ranking]))
    story += _section("trends", _trend_chart(report), _table(
        ["Department", "Q1", "Q2", "Q3", "Q4"],
        [[trend.name, *(point.score for point in trend.points)] for trend in report.trends]))
    story += _section("rectification", _text(f"Rectify by {report.rectification_deadline}."),
                      _table(["Department", "Indicator", "Violated points", "Evidence",
                              "Deadline"],
                             [[item.name, INDICATOR_LABELS[item.indicator],
                               "\n".join(f"{p} {report.point_text.get(p, '')}"
                                         for p in item.points),
                               item.evidence, item.deadline]
                              for item in report.rectifications])
                      if report.rectifications else _text("No department needs to rectify."))
    story += _section("funding", _table(
        ["Department", "Score", "Reasons"],
        [[item.name, item.score, "; ".join(item.reasons)]
         for item in report.funding_ineligible]) if report.funding_ineligible
        else _text("Every department meets the sharing requirements."))
    story += _section("systems", _table(
        ["System", "Department", "Funding", "O&M / year", "Calls / served", "Status"],
        [[s.name, s.department, s.funding_source, s.annual_om_funding,
          f"{s.calls_made} / {s.accesses_served}", "僵尸 zombie" if s.zombie else s.status]
         for s in report.systems]) if report.systems else _text("No system is filed."))
    story += _section("method", _text(
        f"{report.method.name}; pass mark {report.method.pass_score}; rectify within "
        f"{report.method.rectification_days} days of the due date; objections settled within "
        f"{report.method.objection_settle_days} days; zombie: no more than "
        f"{report.method.zombie_max_uses} uses a year."), _table(
        ["Indicator", "Weight", "Threshold", "Points", "Blocks funding"],
        [[INDICATOR_LABELS[indicator], rule.weight, rule.threshold, ", ".join(rule.points),
          "yes" if rule.blocks_funding else "no"]
         for indicator, rule in report.method.indicators.items()]))
    document.build(story)
    return buffer.getvalue()


def _section(key: str, *content: Flowable) -> list[Flowable]:
    return [Paragraph(escape(SECTIONS[key]), HEADING), *content, Spacer(0, 4 * mm)]


def _text(text: str) -> Paragraph:
    return Paragraph(escape(text), BODY)


def _table(header: list[str], rows: list[list[Any]]) -> Table:
    cells = [[Paragraph(escape(str(cell)).replace("\n", "<br/>"), BODY) for cell in row]
             for row in [header, *rows]]
    table = Table(cells, colWidths=[WIDTH / len(header)] * len(header), repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f9")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _summary_table(report: YearReport) -> Table:
    s = report.summary
    return _table(["", ""], [
        ["Departments evaluated / mean score", f"{s.departments} / {s.mean_score}"],
        ["Conditional requests due / answered in time",
         f"{s.requests_due} / {s.requests_answered_on_time}"],
        ["Objections raised / accesses to shared data", f"{s.objections_raised} / {s.accesses}"],
        ["Departments to rectify / not eligible for funding",
         f"{s.departments_to_rectify} / {s.funding_ineligible}"],
        ["Systems filed / zombies (yearly O&M, yuan)",
         f"{s.systems} / {s.zombie_systems} ({s.zombie_annual_om_funding})"],
    ])


def _pages_of(ranking: list[DepartmentScore]) -> list[list[DepartmentScore]]:
    """The ranking in runs short enough for one chart to fit a page."""
    return [ranking[start:start + BARS_PER_CHART]
            for start in range(0, len(ranking), BARS_PER_CHART)]


def _bars(ranking: list[DepartmentScore], height: float) -> tuple[Drawing, HorizontalBarChart]:
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 10, WIDTH - 170, height - 20
    chart.categoryAxis.categoryNames = [item.name for item in reversed(ranking)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontSize = 7
    drawing.add(chart)
    return drawing, chart


def _ranking_chart(ranking: list[DepartmentScore]) -> Drawing:
    drawing, chart = _bars(ranking, 30 + BAR_HEIGHT * len(ranking))
    chart.data = [[item.score for item in reversed(ranking)]]
    chart.bars[0].fillColor = colors.HexColor(PALETTE[0])
    return drawing


def _breakdown_chart(ranking: list[DepartmentScore]) -> Drawing:
    drawing, chart = _bars(ranking, 60 + BAR_HEIGHT * len(ranking))
    chart.y, chart.height = 50, drawing.height - 60
    chart.categoryAxis.style = "stacked"
    chart.data = [[item.indicators[index].points for item in reversed(ranking)]
                  for index in range(len(INDICATOR_LABELS))]
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = 150, 30, FONT, 7
    legend.columnMaximum, legend.dx, legend.dy = 2, 6, 6
    for index, colour in enumerate(PALETTE[:len(INDICATOR_LABELS)]):
        chart.bars[index].fillColor = colors.HexColor(colour)
    legend.colorNamePairs = [(colors.HexColor(colour), label) for colour, label
                             in zip(PALETTE, INDICATOR_LABELS.values(), strict=False)]
    drawing.add(legend)
    return drawing


def _trend_chart(report: YearReport) -> Drawing:
    trends = [trend for trend in report.trends[:10] if trend.points]
    drawing = Drawing(WIDTH, 190)
    if not trends:
        return drawing
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 20, WIDTH - 200, 150
    chart.categoryAxis.categoryNames = [point.period[-2:] for point in trends[0].points]
    chart.data = [[point.score for point in trend.points] for trend in trends]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    for index, colour in enumerate(PALETTE[:len(trends)]):
        chart.lines[index].strokeColor = colors.HexColor(colour)
        chart.lines[index].strokeWidth = 1.5
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = WIDTH - 150, 170, FONT, 7
    legend.colorNamePairs = [(colors.HexColor(colour), trend.name) for colour, trend
                             in zip(PALETTE, trends, strict=False)]
    drawing.add(chart)
    drawing.add(legend)
    return drawing
