"""Chinese names of the codes the platform's contracts speak (classifications, share types
and methods, update cycles, formats, data types, roles, tiers, evaluation indicators, …), as
the compilation guide and the staff read them: one table per kind, for every part that shows a
code to a person (the portal's pages, the catalog's workbooks, search by a classification's
name, the evaluation's report)."""

from __future__ import annotations

NAMES: dict[str, dict[str, str]] = {
    "role": {
        "catalog_editor": "目录编目员", "request_reviewer": "共享审核员",
        "data_operator": "数据操作员", "auditor": "审计管理员", "node_admin": "系统管理员",
        "security_admin": "安全管理员", "arbiter": "仲裁人员",
    },
    "classification": {"base": "基础信息资源", "theme": "主题信息资源",
                       "department": "部门信息资源"},
    "share_type": {"unconditional": "无条件共享", "conditional": "有条件共享",
                   "not_shared": "不予共享"},
    "method": {"system_integration": "系统对接", "front_end_processor": "前置机共享",
               "online_query": "联机查询", "bulk_download": "批量下载"},
    "method_type": {"api": "接口", "database": "数据库", "file": "文件"},
    "channel": {"platform": "共享平台", "mail": "邮件", "media": "介质"},
    "purpose": {"administrative_basis": "行政依据", "work_reference": "工作参考",
                "data_verification": "数据校核", "business_collaboration": "业务协同"},
    "tier": {"national": "国家级", "provincial": "省级", "municipal": "市级", "county": "县级"},
    "update_cycle": {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月",
                     "quarterly": "每季度", "half_yearly": "每半年", "yearly": "每年",
                     "other": "其他"},
    "format": {"electronic_document": "电子文件", "spreadsheet": "电子表格",
               "database": "数据库", "image": "图形图像", "streaming_media": "流媒体",
               "self_describing": "自描述格式", "service_api": "服务接口"},
    "data_type": {"C": "字符型", "N": "数值型", "Y": "货币型", "D": "日期型", "T": "日期时间型",
                  "L": "逻辑型", "M": "备注型", "G": "通用型", "B": "双精度型", "I": "整型",
                  "F": "浮点型"},
    "legal_basis": {"law": "法律", "administrative_regulation": "行政法规",
                    "central_policy": "党中央、国务院政策"},
    "entry_status": {"draft": "草稿", "published": "已发布", "withdrawn": "已撤销"},
    "indicator": {"catalog": "目录编制", "provision": "资源提供", "quality": "数据质量",
                  "responsiveness": "申请答复", "use": "数据使用", "collection": "避免重复采集",
                  "purpose": "按用途使用"},
    "funding_source": {"central_budget": "中央财政", "local_budget": "地方财政",
                       "departmental": "部门自筹", "other": "其他"},
    "system_status": {"filed": "已备案", "retired": "已整合或清理"},
    "base_subject": {"01": "人口基础信息", "02": "法人单位基础信息",
                     "03": "自然资源和空间地理基础信息", "04": "社会信用基础信息",
                     "05": "电子证照基础信息"},
}
