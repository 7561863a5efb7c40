"""The yearly report as one self-contained HTML page: charts are inline SVG, no scripts."""

from __future__ import annotations

from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from services.evaluation.report import INDICATOR_LABELS, PALETTE, SECTIONS, YearReport

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html", "j2"]))
LABEL_WIDTH, BAR_WIDTH, ROW = 220, 420, 22


def to_html(report: YearReport) -> str:
    return TEMPLATES.get_template("report.html.j2").render(
        report=report, sections=SECTIONS, labels=INDICATOR_LABELS,
        ranking_chart=ranking_chart(report), breakdown_chart=breakdown_chart(report),
        trend_chart=trend_chart(report))


def ranking_chart(report: YearReport) -> Markup:
    """One bar per department, its length the score out of 100."""
    rows = []
    for index, item in enumerate(report.ranking):
        y = index * ROW
        width = BAR_WIDTH * item.score / 100
        rows.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">'
            f'{item.rank}. {escape(item.name)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 15}">{item.score:g}</text>')
    return _svg("ranking", len(report.ranking) * ROW, "".join(rows))


def breakdown_chart(report: YearReport) -> Markup:
    """Each department's score split into the points each indicator gave it."""
    rows = []
    for index, item in enumerate(report.ranking):
        y, x = index * ROW, float(LABEL_WIDTH)
        rows.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">'
                    f'{escape(item.name)}</text>')
        for colour, part in zip(PALETTE, item.indicators, strict=False):
            width = BAR_WIDTH * part.points / 100
            rows.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" '
                        f'height="{ROW - 6}" fill="{colour}"><title>'
                        f'{escape(INDICATOR_LABELS[part.indicator])}: {part.points:g}'
                        f'</title></rect>')
            x += width
    legend_y = len(report.ranking) * ROW + 8
    rows += [f'<rect x="{LABEL_WIDTH + (i % 3) * 140}" y="{legend_y + (i // 3) * 18}" '
             f'width="10" height="10" fill="{colour}"/>'
             f'<text x="{LABEL_WIDTH + (i % 3) * 140 + 14}" y="{legend_y + (i // 3) * 18 + 10}">'
             f'{escape(label)}</text>'
             for i, (colour, label) in enumerate(zip(PALETTE, INDICATOR_LABELS.values(),
                                                     strict=False))]
    return _svg("indicator breakdown", legend_y + 3 * 18, "".join(rows))


def trend_chart(report: YearReport) -> Markup:
    """Quarterly scores of the ten best-ranked departments, one line each."""
    quarters = [f"{report.year}-Q{quarter}" for quarter in range(1, 5)]
    height, left, step = 200, 60, 130
    parts = [f'<line x1="{left}" y1="{height}" x2="{left + 3 * step}" y2="{height}" '
             f'stroke="#888"/>']
    parts += [f'<text x="{left + i * step}" y="{height + 16}" text-anchor="middle">{q}</text>'
              for i, q in enumerate(quarters)]
    parts += [f'<text x="{left - 8}" y="{height - value * 2 + 4}" text-anchor="end">{value}'
              f'</text>' for value in (0, 50, 100)]
    for colour, trend in zip(PALETTE, report.trends[:10], strict=False):
        points = " ".join(f"{left + quarters.index(point.period) * step},"
                          f"{height - point.score * 2:.1f}" for point in trend.points)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"><title>{escape(trend.name)}</title></polyline>')
    legend = [f'<text x="{left + 3 * step + 20}" y="{14 + i * 16}" fill="{colour}">'
              f'{escape(trend.name)}</text>'
              for i, (colour, trend) in enumerate(zip(PALETTE, report.trends[:10],
                                                      strict=False))]
    return _svg("trends", height + 24, "".join(parts + legend))


def _svg(title: str, height: int, body: str) -> Markup:
    return Markup(f'<svg role="img" aria-label="{title}" width="760" height="{height + 8}" '
                  f'viewBox="0 0 760 {height + 8}" xmlns="http://www.w3.org/2000/svg" '
                  f'font-size="12">{body}</svg>')
