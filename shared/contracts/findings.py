"""The evaluation's findings in Chinese: the counts behind an indicator's rate (evidence) and
why a department may not have project approval or O&M funding (reasons, 51 §21).

The evaluation's API writes them for programs, in English, in a few fixed sentences; a person
reads each in Chinese, through this one translation (the portal's pages, the evaluation's
signed report), and a sentence not known here as the API wrote it.
"""

from __future__ import annotations

import re

from shared.contracts.names import NAMES

_N = r"(\d+)"
_NUMBER = r"([\d.]+)"

# Each sentence the evaluation writes (services/evaluation/scoring.py, indicators.py), as a
# pattern matched whole, and its Chinese with the same numbers and names.
EVIDENCE: list[tuple[re.Pattern[str], str]] = [(re.compile(pattern), chinese) for pattern,
                                               chinese in (
    (r"no entry published: the catalog is not compiled", "未发布任何目录条目，目录尚未编制"),
    (rf"{_N} of {_N} catalog updates made on time", r"应更新目录 \2 次，按时更新 \1 次"),
    (r"no entry provided", "未提供任何信息资源"),
    (rf"{_N} of {_N} entries found stale, {_N} with no data on the platform",
     r"已发布目录 \2 条，其中 \1 条更新滞后、\3 条未在平台提供数据"),
    (rf"{_N} objections raised, {_N} settled in time, {_N} late, {_N} unsettled past the "
     rf"deadline; {_N} of {_N} cross-checked subjects differing from another source",
     r"收到数据异议 \1 件，按时办结 \2 件、逾期办结 \3 件、逾期未办结 \4 件；"
     r"比对主体 \6 个，其中 \5 个与其他来源不一致"),
    (rf"{_N} of {_N} requests answered in time, {_N} late, {_N} unanswered, {_N} refused "
     r"without reason",
     r"应答复申请 \2 件，按时答复 \1 件、逾期答复 \3 件、未答复 \4 件、无理由拒绝 \5 件"),
    (rf"{_N} accesses to shared data, {_N} records", r"使用共享数据 \1 次，获得记录 \2 条"),
    (rf"{_N} items collected again", r"重复采集可共享获得的信息项 \1 个"),
    (rf"{_N} accesses attempted beyond the granted purpose", r"超出授权用途的访问 \1 次"),
)]

REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(pattern), chinese) for pattern,
                                              chinese in (
    (rf"score {_NUMBER} below the pass mark {_NUMBER}", r"得分 \1，低于合格分 \2"),
    (r"project (.+) accepted without its resource catalog \[(.+)\]",
     r"信息化项目“\1”验收时未提交资源目录〔\2〕"),
    (r"project (.+): entries attached at acceptance not in the shared catalog \((.+)\) "
     r"\[(.+)\]", r"信息化项目“\1”验收时所附目录条目不在共享目录中（\2）〔\3〕"),
    (r"database (.+) backs no entry of the shared catalog \((.+)\) \[(.+)\]",
     r"数据库“\1”未支撑共享目录中任何已发布的条目（\2）〔\3〕"),
)]
_INDICATOR_FINDING = re.compile(r"([a-z_]+): (.+)")


def evidence(text: str) -> str:
    """The counts behind an indicator's rate, in Chinese."""
    return _translated(text, EVIDENCE) or text


def reason(text: str) -> str:
    """One reason a department is not eligible for funding, in Chinese."""
    found = _translated(text, REASONS)
    if found:
        return found
    finding = _INDICATOR_FINDING.fullmatch(text)
    if finding and finding[1] in NAMES["indicator"]:
        return f"“{NAMES['indicator'][finding[1]]}”未达标：{evidence(finding[2])}"
    return text


def _translated(text: str, sentences: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, chinese in sentences:
        found = pattern.fullmatch(text)
        if found:
            return found.expand(chinese)
    return None
