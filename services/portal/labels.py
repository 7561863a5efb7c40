"""Chinese names of the values the API speaks in codes (enums): one table per kind, so a
template writes `value | label("share_type")`."""

from __future__ import annotations

from shared.contracts.names import NAMES

LABELS: dict[str, dict[str, str]] = {
    **NAMES,
    "cleared_because": {"entry_withdrawn": "目录已撤销", "item_removed": "已删除该信息项",
                        "responsibility_changed": "采集责任已调整"},
    "database_status": {"registered": "已登记", "updated": "已更新", "deregistered": "已注销"},
    "project_status": {"filed": "已报送（立项前）", "accepted": "已验收"},
    "version_reason": {"created": "新建", "published": "发布"},  # the catalog's own words
    "request_status": {"submitted": "待答复", "overdue": "已逾期", "approved": "已同意",
                       "rejected": "已拒绝", "negotiating": "协商中", "escalated": "已提请协调",
                       "decided": "已裁决", "withdrawn": "已撤回"},
    "grant_status": {"pending_agreement": "待签保密协议", "active": "有效", "revoked": "已撤销",
                     "expired": "已到期", "ended": "已终止", "suspended": "已暂停"},
    "freshness": {"fresh": "按期更新", "stale": "更新滞后", "no_data": "尚无数据",
                  "no_cycle": "不定期更新", "live": "实时接口"},
    "access_kind": {"query": "联机查询", "download": "批量下载", "delivery": "订阅推送",
                    "ingest": "数据接入（被拒）", "open_data": "开放数据下载"},
    "calendar_basis": {"loaded": "已载入的国务院节假日安排", "library": "内置节假日日历",
                       "weekday_fallback": "按周一至周五推算（尚无当年节假日安排）"},
    "zone": {"internal": "政务内网", "external": "政务外网"},
    "node_relation": {"parent": "上级节点", "child": "下级节点"},
}


def label(value: object, kind: str) -> str:
    """The Chinese name of `value` of `kind`; the value itself when there is none."""
    text = str(value) if value is not None else ""
    return LABELS.get(kind, {}).get(text, text)
