"""The API's refusals in Chinese: by problem type, by rule, by validation error.

The API speaks English to programs; a person reads what is here, and the API's own detail
beneath it. A refusal not named here still gets a Chinese sentence by its status.
"""

from __future__ import annotations

from typing import Any

BY_TYPE = {
    "invalid-login": "用户名或密码不正确。",
    "login-locked": "登录失败次数过多，该账号已暂时锁定，请稍后再试或联系系统管理员解锁。",
    "entry-not-found": "没有这个目录条目，或您无权查看。",
    "entry-unknown": "没有这个已发布的目录条目。",
    "resource-unknown": "没有这个已发布的目录条目。",
    "resource-withdrawn": "该目录条目已撤销。",
    "entry-name-taken": "本部门已有同名的目录条目。",
    "illegal-transition": "当前状态下不能进行此操作。",
    "not-providers-editor": "只有提供部门的目录编目人员才能这样做。",
    "catalog-rule-violation": "目录条目不符合编目规则。",
    "sharing-rule-violation": "申请不符合共享规则。",
    "request-not-found": "没有这个共享申请，或您无权查看。",
    "grant-not-found": "没有这项授权，或您无权查看。",
    "not-a-party": "只有申请的当事部门才能这样做。",
    "record-not-found": "没有这条登记记录。",
    "trigger-not-answered": "所选目录自变更发生之日起没有已发布的修改：请先按变更修改并发布"
                            "（或撤销）目录，再办结此事项（C6）。",
    "validation-error": "填写的内容不符合要求。",
    "malformed-body": "提交的内容无法读取。",
    "rate-limited": "操作过于频繁，请稍后再试。",
    "not-found": "没有找到所要的内容。",
    "payload-too-large": "提交的内容过大。",
    "unavailable": "服务暂时不可用，请稍后再试。",
}

BY_RULE = {
    "C1": "信息资源分类或代码不符合目录编制规则（C1）。",
    "C2": "不予共享须列明法律、行政法规或党中央、国务院政策依据（C2）。",
    "C3": "基础信息资源的基础信息项必须无条件共享（C3）。",
    "C4": "有条件共享须写明共享条件和可用于的用途（C4）。",
    "C5": "须至少选择一种共享方式（C5）。",
    "F3": "涉密信息资源只能在政务内网节点编目（F3）。",
}

# A rule whose meaning depends on the input it names (A2 refuses a refusal without its
# reason, and a grant wider than the request): the sentence for that input.
BY_RULE_FIELD = {
    ("A2", "reason"): "拒绝共享必须说明理由（A2）。",
    ("A2", "items"): "信息项超出了申请或目录的范围：授权只能缩小、不能扩大申请（A2）。",
    ("A2", "row_filter"): "行过滤条件只能使用本资源的信息项（A2）。",
    ("A2", "valid_until"): "授权只能比申请的期限早结束，不能更晚（A2）。",
    ("A2", "entry_code"): "不能申请本部门自己的信息资源（A2）。",
    ("A5", "valid_until"): "使用期限须晚于今天，且不超过三年（A5）。",
    ("C4", "purpose"): "提供部门不允许将本资源用于此用途（C4）。",
    ("C8", "resource_codes"): "只能登记本部门目录中的信息资源（C8）。",
    ("C8", "entry_codes"): "验收时挂接的须是本部门已发布的目录（C8）。",
    ("C5", "methods"): "提供部门不提供所选的共享方式（C5）。",
}

BY_STATUS = {
    400: "提交的内容无法读取。",
    404: "没有找到所要的内容。",
    409: "与当前状态冲突，请刷新页面后再试。",
    413: "提交的内容过大。",
    422: "填写的内容不符合要求。",
    429: "操作过于频繁，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}

BY_VALIDATION_CODE = {
    "missing": "此项必填。",
    "string_too_short": "内容太短。",
    "string_too_long": "内容太长。",
    "string_pattern_mismatch": "格式不正确。",
    "enum": "请从列表中选择。",
    "date_from_datetime_parsing": "请填写正确的日期。",
    "date_parsing": "请填写正确的日期。",
    "int_parsing": "请填写整数。",
    "float_parsing": "请填写数字。",
    "greater_than_equal": "数值小于允许的最小值。",
    "less_than_equal": "数值大于允许的最大值。",
    "ip_any_network": "请填写网络地址，如 10.20.0.0/16。",
    "too_short": "至少选择一项。",
    "too_long": "选择的项目过多。",
}


def problem_message(status: int, slug: str, body: dict[str, Any]) -> str:
    """One Chinese sentence for a problem: its rule's, else its type's, else its status's."""
    rule = body.get("rule")
    by_field = BY_RULE_FIELD.get((str(rule), str(body.get("field"))))
    if by_field:
        return by_field
    if isinstance(rule, str) and rule in BY_RULE:
        return BY_RULE[rule]
    return BY_TYPE.get(slug) or BY_STATUS.get(status) or f"操作未被接受（{status}）。"


def field_message(code: str) -> str:
    """What a validation error code means for the person filling the field."""
    return BY_VALIDATION_CODE.get(code, "此项填写不正确。")
