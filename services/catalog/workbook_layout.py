"""The compilation workbook's layout (W4): its sheets, their columns under the Chinese
headers of the compilation guide, and the code lists a person picks from by their Chinese
names.

One sheet holds the resources, a row each with the elements of §3 (the info items apart);
one holds the info items, each row naming its resource by 信息资源名称 (unique among one
provider's resources, so it links a new resource that has no code yet); a hidden one holds
the code lists the other two offer as drop-downs. A column's `field` is its place in
EntrySpec (or InfoItem), dotted as the API names fields, so a refusal that names a field
names a cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from shared.contracts.names import NAMES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESOURCES, ITEMS, CODES = "信息资源", "信息项", "代码表"
# What a person types between the values of one cell that holds several.
SEPARATORS = re.compile(r"[\s,，、;；]+")


@dataclass(frozen=True)
class CodeList:
    """The values of one code list by their Chinese names (the names a cell shows)."""

    title: str
    labels: dict[str, str]

    def code_of(self, text: str) -> str | None:
        """The code a cell's text names: its Chinese name, or the code itself."""
        wanted = text.strip()
        for code, shown in self.labels.items():
            if wanted in (shown, code) or wanted.lower() == code.lower():
                return code
        return None


def _codes(title: str, kind: str) -> CodeList:
    return CodeList(title, dict(NAMES[kind]))


TOP_CLASSES = _codes("信息资源分类（类）", "classification")
FORMATS = _codes("信息资源格式", "format")
SHARE_TYPES = _codes("共享类型", "share_type")
PURPOSES = _codes("使用用途", "purpose")
LEGAL_BASES = _codes("不予共享依据类型", "legal_basis")
CHANNELS = _codes("共享渠道", "channel")
METHOD_TYPES = _codes("共享方式类型", "method_type")
METHODS = _codes("共享方式", "method")
UPDATE_CYCLES = _codes("更新周期", "update_cycle")
# The guide's letters first, so the list reads as the guide's table does.
DATA_TYPES = CodeList("数据类型", {code: f"{code} {shown}"
                                  for code, shown in NAMES["data_type"].items()})
YES_NO = CodeList("是否", {"true": "是", "false": "否"})
CODE_LISTS = (TOP_CLASSES, FORMATS, SHARE_TYPES, PURPOSES, LEGAL_BASES, CHANNELS,
              METHOD_TYPES, METHODS, UPDATE_CYCLES, DATA_TYPES, YES_NO)


class Kind(StrEnum):
    """How a cell's value becomes a field's, and back."""

    text = "text"
    digits = "digits"  # a code of digits Excel would take for a number (项 01)
    integer = "integer"
    flag = "flag"  # 是 / 否
    choice = "choice"  # one value of a code list
    choices = "choices"  # several values of a code list, 、-separated
    words = "words"  # several free values, 、-separated


@dataclass(frozen=True)
class Column:
    """One column: its header, the field it fills (dotted), how its cells read."""

    header: str
    field: str
    kind: Kind = Kind.text
    codes: CodeList | None = None
    width: int = 14
    digits: int | None = field(default=None, kw_only=True)  # zero-padded to this many
    shown_only: bool = field(default=False, kw_only=True)  # written, never read back
    prompt: str = field(default="", kw_only=True)


# Fields of a row that are not the entry's declaration: which entry, whose, why it changes;
# and on the items sheet, the resource an item belongs to.
CODE_COLUMN, PROVIDER_COLUMN, REASON_COLUMN, RESOURCE_COLUMN = (
    "code", "provider", "reason", "resource")
NAME_COLUMN = "name"
_SEVERAL = "可填多个，用顿号（、）分隔："

RESOURCE_COLUMNS = (
    Column("信息资源代码", CODE_COLUMN, width=18,
           prompt="新编目录留空，由平台赋码；填本部门已有目录的代码即修改该目录。"),
    Column("信息资源名称", NAME_COLUMN, width=28,
           prompt="本部门内不重复；信息项表以此名称挂接信息项。"),
    Column("信息资源分类（类）", "classification.top", Kind.choice, TOP_CLASSES, 16),
    Column("信息资源分类（项）", "classification.item", Kind.digits, width=10, digits=2,
           prompt="两位数字；基础信息资源为 01–05。"),
    Column("信息资源分类（目）", "classification.category", Kind.digits, width=10, digits=3,
           prompt="三位数字，可空。"),
    Column("信息资源分类（细目）", "classification.subcategory", Kind.digits, width=10),
    Column("资源提供方", "provider_name", width=20, shown_only=True),
    Column("提供方代码", PROVIDER_COLUMN, width=22,
           prompt="统一社会信用代码；只能导入本部门的目录。"),
    Column("信息资源摘要", "abstract", width=40),
    Column("信息资源格式", "format.kind", Kind.choice, FORMATS),
    Column("格式类型", "format.sub_format", width=10, prompt="如 pdf、ofd、xlsx、json。"),
    Column("共享类型", "share.type", Kind.choice, SHARE_TYPES),
    Column("共享条件", "share.conditions", width=30, prompt="有条件共享须填写（C4）。"),
    Column("使用用途", "share.permitted_uses", Kind.choices, PURPOSES, 20,
           prompt="有条件共享须填写（C4）；" + _SEVERAL + "、".join(PURPOSES.labels.values())),
    Column("不予共享依据类型", "share.legal_basis.kind", Kind.choice, LEGAL_BASES, 18),
    Column("不予共享依据", "share.legal_basis.title", width=30,
           prompt="不予共享须列明法律、行政法规或党中央、国务院政策依据（C2）。"),
    Column("共享渠道", "share.channel", Kind.choice, CHANNELS, 10),
    Column("共享方式类型", "share.method_types", Kind.choices, METHOD_TYPES,
           prompt=_SEVERAL + "、".join(METHOD_TYPES.labels.values())),
    Column("共享方式", "share.methods", Kind.choices, METHODS, 20,
           prompt="经共享平台共享须至少填一种（C5）；" + _SEVERAL
           + "、".join(METHODS.labels.values())),
    Column("是否敏感", "share.sensitive", Kind.flag, YES_NO, 10),
    Column("是否向社会开放", "open.is_open", Kind.flag, YES_NO, 10),
    Column("开放条件", "open.conditions", width=24),
    Column("更新周期", "update_cycle", Kind.choice, UPDATE_CYCLES, 10),
    Column("关联资源代码", "related_codes", Kind.words, width=24, prompt=_SEVERAL.rstrip("：")),
    Column("是否涉密", "classified", Kind.flag, YES_NO, 10,
           prompt="涉密信息资源只能在政务内网节点编目（F3）。"),
    Column("发布日期", "published_at", width=12, shown_only=True),
    Column("状态", "status", width=8, shown_only=True),
    Column("变更原因", REASON_COLUMN, width=30, prompt="修改已发布的目录须说明原因（C6）。"),
)

ITEM_COLUMNS = (
    Column("信息资源名称", RESOURCE_COLUMN, width=28,
           prompt="所属信息资源的名称，与信息资源表一致。"),
    Column("信息项名称", "name", width=20),
    Column("信息项代码", "code", width=16, prompt="字母、数字、下划线，同一资源内不重复。"),
    Column("数据类型", "data_type", Kind.choice, DATA_TYPES, 14),
    Column("长度", "length", Kind.integer, width=8),
    Column("是否标识主体", "identifies_subject", Kind.flag, YES_NO, 12,
           prompt="如公民身份号码、统一社会信用代码。"),
    Column("是否基础信息项", "is_base_item", Kind.flag, YES_NO, 12),
    Column("共享类型", "share_type", Kind.choice, SHARE_TYPES),
    Column("不予共享依据类型", "legal_basis.kind", Kind.choice, LEGAL_BASES, 18),
    Column("不予共享依据", "legal_basis.title", width=30,
           prompt="所属资源共享而本信息项不予共享的，须列明依据（C2）。"),
)
