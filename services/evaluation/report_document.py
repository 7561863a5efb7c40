"""The yearly report laid out as an official document, once for the PDF and the OFD.

A cover (issuing node, tier, period, date, due date, method), then the report's sections as
blocks of text, tables and charts, closed by the issuing node and the date (落款). All of it in
Chinese, as an official document is: codes the API speaks are shown by their Chinese names.
The findings' facts and reasons, which the API writes in English, are read through the same
translation as the portal's (shared.contracts.findings). Each rendering sets the same blocks,
so what a reader finds in one is what the other holds, and the tests read it back against
this. Charts come in runs of `BARS_PER_CHART` departments, one run a page at most, so 40 or 400
departments stay legible; tables repeat their header on every page they run onto.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from services.evaluation.report import INDICATOR_LABELS, PALETTE, SECTIONS, YearReport
from services.evaluation.scoring import DepartmentScore
from shared.contracts import findings
from shared.contracts.names import NAMES
from shared.workdays import china_date

BARS_PER_CHART = 45  # a chart fills a page at most (the OFD too), legend included
TRENDS_SHOWN = 10
QUARTERS = ["第一季度", "第二季度", "第三季度", "第四季度"]
LAWS = {
    "51": "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）",
    "JS": "《江苏省政务信息资源共享管理暂行办法》（苏政发〔2017〕133号）",
}
ARTICLES = {"51": "第二十四条", "JS": "第二十五条"}


@dataclass(frozen=True)
class Text:
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[float] = field(default_factory=list)
    kind: Literal["table"] = "table"


@dataclass(frozen=True)
class Bar:
    label: str
    parts: list[float]
    value: str


@dataclass(frozen=True)
class Bars:
    """Horizontal bars on a 0–100 scale, each split into parts (one colour per part)."""

    caption: str
    bars: list[Bar]
    colours: list[str]
    legend: list[str] = field(default_factory=list)
    kind: Literal["bars"] = "bars"


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    values: list[float | None]


@dataclass(frozen=True)
class Lines:
    """Scores 0–100 across the categories (quarters), one line per department."""

    caption: str
    categories: list[str]
    lines: list[Line]
    kind: Literal["lines"] = "lines"


Block = Text | Table | Bars | Lines


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block]


@dataclass(frozen=True)
class ReportDocument:
    title: str
    subtitle: str  # the issuing node, under the title on the cover
    running_head: str
    cover: list[tuple[str, str]]
    sections: list[Section]
    closing: str
    sign_off: list[str]  # 落款: the issuing node and the date, at the end
    author: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def strings(self) -> list[str]:
        """Every piece of text the document shows, as a reader of any rendering finds it (but
        the running head and page numbers, set around it on each page)."""
        found = [self.title, self.subtitle, self.closing, *self.sign_off]
        found += [part for pair in self.cover for part in pair]
        for section in self.sections:
            found.append(section.title)
            for block in section.blocks:
                found += _strings(block)
        return [text for text in found if text]


def _strings(block: Block) -> list[str]:
    if isinstance(block, Text):
        return [block.text]
    if isinstance(block, Table):
        return [*block.header, *(cell for row in block.rows for cell in row)]
    if isinstance(block, Bars):
        return [block.caption, *block.legend,
                *(text for bar in block.bars for text in (bar.label, bar.value))]
    return [block.caption, *block.categories, *(line.name for line in block.lines)]


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def build(report: YearReport) -> ReportDocument:
    """The report as the document both renderings set."""
    issuer = report.issuer or "本节点"
    return ReportDocument(
        title=f"{report.year}年度政务信息资源共享评价报告", subtitle=issuer,
        running_head=f"{issuer} 政务信息资源共享评价报告（{report.year}年度）",
        sign_off=[issuer, chinese_date(china_date(report.generated_at))], author=issuer,
        cover=_cover(report), closing=(
            "本报告的电子文件由本节点以其签名密钥签署（ES256），随文件附签名；以 "
            "govshare report verify 核验，文件任一字节被改动即不能通过核验。"),
        sections=[
            Section("summary", _chinese(SECTIONS["summary"]), [_summary(report)]),
            Section("ranking", _chinese(SECTIONS["ranking"]), [
                *_ranking_charts(report.ranking), Table(
                ["名次", "部门", "统一社会信用代码", "得分"],
                [[str(item.rank), item.name, item.department, f"{item.score:g}"]
                 for item in report.ranking], [1, 5, 3.2, 1.2])]),
            Section("breakdown", _chinese(SECTIONS["breakdown"]), [
                *_breakdown_charts(report.ranking), _breakdown_table(report),
                Text("* 低于该指标阈值，列入整改清单。")]),
            Section("trends", _chinese(SECTIONS["trends"]), _trends(report)),
            Section("rectification", _chinese(SECTIONS["rectification"]), _rectification(report)),
            Section("funding", _chinese(SECTIONS["funding"]), [_funding(report)]),
            Section("systems", _chinese(SECTIONS["systems"]), [_systems(report)]),
            Section("method", _chinese(SECTIONS["method"]), _method(report)),
        ])


def _cover(report: YearReport) -> list[tuple[str, str]]:
    generated = china_date(report.generated_at)
    last_day = min(date(report.year, 12, 31), generated)
    period = f"{chinese_date(date(report.year, 1, 1))}至{chinese_date(last_day)}"
    if last_day < date(report.year, 12, 31):
        period += "（年度未结束，截至报告生成之日）"
    version = f"第{report.method_version}版" if report.method_version else "本层级默认方法"
    mean = "—" if report.summary.mean_score is None else f"{report.summary.mean_score:g}"
    return [
        ("评价层级", NAMES["tier"][report.tier]),
        ("评价期间", period),
        ("报告日期", chinese_date(generated)),
        ("报送期限", f"{chinese_date(report.due_on)}前（{report.due_basis}）"),
        ("评价方法", f"{report.method.name}，{version}"),
        ("参评部门", f"{report.summary.departments}个，平均得分 {mean}"),
    ]


def _summary(report: YearReport) -> Table:
    s = report.summary
    mean = "—" if s.mean_score is None else f"{s.mean_score:g}"
    return Table(["项目", "数值"], [
        ["参评部门 / 平均得分", f"{s.departments} / {mean}"],
        ["有条件共享申请应答 / 按时答复", f"{s.requests_due} / {s.requests_answered_on_time}"],
        ["数据质量异议 / 共享数据调用", f"{s.objections_raised} / {s.accesses}"],
        ["需整改部门 / 不予审批和运维经费", f"{s.departments_to_rectify} / {s.funding_ineligible}"],
        ["备案信息系统 / 僵尸系统（年运维经费，元）",
         f"{s.systems} / {s.zombie_systems}（{s.zombie_annual_om_funding}）"],
    ], [3, 1.4])


def _runs(ranking: list[DepartmentScore]) -> list[tuple[int, list[DepartmentScore]]]:
    return [(start, ranking[start:start + BARS_PER_CHART])
            for start in range(0, len(ranking), BARS_PER_CHART)]


def _caption(name: str, start: int, run: list[DepartmentScore], total: int) -> str:
    return f"{name}（第 {start + 1}–{start + len(run)} 位，共 {total} 个部门）"


def _ranking_charts(ranking: list[DepartmentScore]) -> list[Block]:
    return [Bars(_caption("得分排名图", start, run, len(ranking)),
                 [Bar(f"{item.rank}. {item.name}", [item.score], f"{item.score:g}")
                  for item in run], [PALETTE[0]])
            for start, run in _runs(ranking)]


def _breakdown_charts(ranking: list[DepartmentScore]) -> list[Block]:
    colours = PALETTE[:len(INDICATOR_LABELS)]
    legend = [_chinese(label) for label in INDICATOR_LABELS.values()]
    return [Bars(_caption("指标得分构成图", start, run, len(ranking)),
                 [Bar(item.name, [part.points for part in item.indicators], f"{item.score:g}")
                  for item in run], colours, legend)
            for start, run in _runs(ranking)]


def _breakdown_table(report: YearReport) -> Table:
    return Table(["部门", *(_chinese(label) for label in INDICATOR_LABELS.values())],
                 [[item.name, *(f"{part.rate:.0%}{'*' if part.finding else ''}"
                                for part in item.indicators)] for item in report.ranking],
                 [3.4, *[1] * len(INDICATOR_LABELS)])


def _trends(report: YearReport) -> list[Block]:
    quarters = [f"{report.year}-Q{quarter}" for quarter in range(1, 5)]
    shown = [trend for trend in report.trends[:TRENDS_SHOWN] if trend.points]
    blocks: list[Block] = []
    if shown:
        blocks.append(Lines(f"前 {len(shown)} 名部门季度得分", QUARTERS, [
            Line(trend.name, colour, [_score_in(trend.points, quarter) for quarter in quarters])
            for colour, trend in zip(PALETTE, shown, strict=False)]))
    blocks.append(Table(["部门", *QUARTERS], [
        [trend.name, *(_shown(_score_in(trend.points, quarter)) for quarter in quarters)]
        for trend in report.trends], [3.4, 1, 1, 1, 1]))
    return blocks


def _score_in(points: list[Any], quarter: str) -> float | None:
    return next((point.score for point in points if point.period == quarter), None)


def _shown(score: float | None) -> str:
    return "—" if score is None else f"{score:g}"


def _rectification(report: YearReport) -> list[Block]:
    if not report.rectifications:
        return [Text("本年度无须整改的部门。")]
    cited = sorted({point.split(" ")[0] for item in report.rectifications
                    for point in item.points if point.split(" ")[0] in LAWS})
    basis = "和".join(f"{LAWS[law]}{ARTICLES[law]}" for law in cited) or "有关规定"
    notice = (f"依据{basis}，下列部门存在所列情形，现通知整改。请于"
              f"{chinese_date(report.rectification_deadline)}前完成整改，并将整改情况书面报送"
              "本级政务信息资源共享主管部门；未在规定时限内完成整改的，依照上述规定报告本级"
              "人民政府。")
    return [Text(notice), Table(
        ["序号", "部门", "问题", "违反条款", "事实依据", "整改期限"],
        [[str(number), item.name, _chinese(INDICATOR_LABELS[item.indicator]),
          "；".join(f"{point} {report.point_text.get(point, '')}".strip()
                   for point in item.points), findings.evidence(item.evidence),
          chinese_date(item.deadline)]
         for number, item in enumerate(report.rectifications, 1)],
        [0.7, 2.2, 1.4, 3.2, 2.6, 1.5])]


def _funding(report: YearReport) -> Block:
    if not report.funding_ineligible:
        return Text("各部门均符合共享要求。")
    return Table(["部门", "得分", "原因"],
                 [[item.name, f"{item.score:g}",
                   "；".join(findings.reason(reason) for reason in item.reasons)]
                  for item in report.funding_ineligible], [2.4, 0.8, 5])


def _systems(report: YearReport) -> Block:
    if not report.systems:
        return Text("无备案信息系统。")
    departments = {item.department: item.name for item in report.ranking}
    return Table(["系统", "部门", "经费来源", "年运维经费（元）", "调用 / 被调用", "状态"],
                 [[system.name, departments.get(system.department, system.department),
                   _named(system.funding_source, "funding_source"),
                   str(system.annual_om_funding),
                   f"{system.calls_made} / {system.accesses_served}",
                   "僵尸系统" if system.zombie else _named(system.status, "system_status")]
                  for system in report.systems], [2.4, 2.6, 1.6, 1.6, 1.4, 1.2])


def _method(report: YearReport) -> list[Block]:
    method = report.method
    return [Text(f"{method.name}：合格分 {method.pass_score:g}；报送期限后 "
                 f"{method.rectification_days} 日内整改；异议 {method.objection_settle_days} "
                 f"日内办结；年使用不超过 {method.zombie_max_uses} 次的系统为僵尸系统。"),
            Table(["指标", "权重", "阈值", "依据条款", "否决经费"],
                  [[_chinese(INDICATOR_LABELS[indicator]), f"{rule.weight:g}",
                    f"{rule.threshold:g}", "；".join(rule.points) or "—",
                    "是" if rule.blocks_funding else "否"]
                   for indicator, rule in method.indicators.items()],
                  [2, 0.8, 0.8, 3, 1])]


def _named(code: str, kind: str) -> str:
    return NAMES[kind].get(str(code), str(code))


def _chinese(label: str) -> str:
    """The Chinese half of a bilingual label ("目录编制更新 Catalog" → "目录编制更新")."""
    return label.split(" ", 1)[0]
