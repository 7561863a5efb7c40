"""catalog: search people can trust (C9) — the thesaurus, entries' data activity, weights

- `thesaurus_version`: the search thesaurus, each edit a new version; version 1 is the one
  the node ships, everyday words and common names leading to the official terms;
- `entry_activity`: what the exchange says of each local entry's data (held since, last
  loaded, uses), so equally relevant entries rank the one holding data first;
- the search vectors again, weighted: name (A), classification names (B), item names (C),
  abstract (D).

Revision ID: 20261130_0011
Revises: 20261130_0010
Create Date: 2026-11-30
"""

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.catalog.search_text import WEIGHTED_VECTOR_SQL, weighted_terms

revision = "20261130_0011"
down_revision = "20261130_0010"
branch_labels = None
depends_on = None


def _group(preferred: str, terms: list[str],
           also_finds: list[str] | None = None) -> dict[str, Any]:
    return {"preferred": preferred, "terms": terms, "also_finds": also_finds or []}


# What people call what the catalog names officially. `also_finds` one way only: 社会保险
# finds 养老保险, 养老保险 does not find every social insurance.
SHIPPED = [
    _group("社会保险", ["社保"], ["养老保险", "失业保险", "工伤保险", "医疗保险", "生育保险"]),
    _group("养老保险", ["养老金", "退休金", "退休"]),
    _group("失业保险", ["失业金", "失业保险金"]),
    _group("工伤保险", ["工伤"]),
    _group("生育保险", ["生育津贴"]),
    _group("医疗保险", ["医保", "医疗保障"], ["基本医疗保险"]),
    _group("城乡居民基本医疗保险", ["新农合", "城乡居民医保", "居民医保"]),
    _group("社会保障卡", ["社保卡", "医保卡"]),
    _group("医保电子凭证", ["医保码"]),
    _group("住房公积金", ["公积金"]),
    _group("户籍", ["户口"], ["户籍人口"]),
    _group("居民户口簿", ["户口本", "户口簿"], ["户籍"]),
    _group("居民身份证", ["身份证", "二代证"], ["公民身份号码"]),
    _group("公民身份号码", ["身份证号", "身份证号码"]),
    _group("居住证", ["暂住证"]),
    _group("结婚登记", ["结婚", "结婚证"], ["婚姻登记"]),
    _group("离婚登记", ["离婚", "离婚证"], ["婚姻登记"]),
    _group("生育登记", ["准生证", "生育服务证"]),
    _group("出生医学证明", ["出生证", "出生证明"], ["出生登记"]),
    _group("死亡医学证明", ["死亡证明"], ["死亡登记"]),
    _group("营业执照", [], ["企业登记", "市场主体登记", "电子证照"]),
    _group("企业登记", ["工商登记", "工商注册", "市场主体登记"]),
    _group("统一社会信用代码", ["信用代码", "社会信用代码"]),
    _group("税务登记", ["纳税人登记", "税务登记证"]),
    _group("个人所得税", ["个税"], ["纳税"]),
    _group("不动产权证书", ["房产证", "房本", "房屋所有权证", "土地证"], ["不动产登记"]),
    _group("不动产登记", ["房产登记", "房屋登记", "土地登记"]),
    _group("公共租赁住房", ["公租房", "廉租房"]),
    _group("机动车驾驶证", ["驾照", "驾驶证", "驾驶执照"]),
    _group("机动车行驶证", ["行驶证"], ["机动车登记"]),
    _group("最低生活保障", ["低保"], ["社会救助"]),
    _group("特困人员供养", ["五保", "五保户"], ["社会救助"]),
    _group("残疾人证", ["残疾证", "残联证"], ["残疾人"]),
    _group("退役军人", ["复员军人", "转业军人", "老兵"]),
    _group("普通护照", ["护照"]),
    _group("往来港澳通行证", ["港澳通行证"]),
    _group("无犯罪记录证明", ["无犯罪证明", "犯罪记录"]),
    _group("学历证书", ["毕业证", "毕业证书"]),
    _group("行政处罚", ["罚款", "处罚决定"]),
    _group("行政许可", ["行政审批", "审批"]),
    _group("公共信用信息", ["信用记录", "信用信息"]),
    _group("电子证照", ["电子证件", "电子证书"]),
]


def upgrade() -> None:
    version = op.create_table(
        "thesaurus_version",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("groups", JSONB, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.execute(version.insert().values(version=1, groups=SHIPPED, changed_by="shipped",
                                       changed_at=sa.func.now(),
                                       reason="随节点发布的政务常用词表"))
    op.create_table(
        "entry_activity",
        sa.Column("entry_code", sa.String(60), primary_key=True),
        sa.Column("data_since", sa.DateTime(timezone=True)),
        sa.Column("last_loaded_at", sa.DateTime(timezone=True)),
        sa.Column("uses", sa.BigInteger, server_default="0", nullable=False),
    )
    vector = WEIGHTED_VECTOR_SQL.format(":a", ":b", ":c", ":d")
    _reindex("select id, spec from entry where id > :after_id order by id limit 1000",
             f"update entry set search_vector = {vector} where id = :id",
             start={"id": uuid.UUID(int=0)})
    _reindex("select origin_node, code, snapshot as spec from federated_entry "
             "where (origin_node, code) > (:after_origin_node, :after_code) "
             "order by origin_node, code limit 1000",
             f"update federated_entry set search_vector = {vector} "
             "where origin_node = :origin_node and code = :code",
             start={"origin_node": "", "code": ""})


def _reindex(batch: str, update: str, start: dict[str, Any]) -> None:
    """Weight every vector, a thousand rows at a time (a large catalog is not read into
    memory at once): `batch` reads the rows after a key (`start`'s columns, in order),
    `update` writes one row's."""
    bind, after = op.get_bind(), start
    while rows := bind.execute(sa.text(batch), {
            f"after_{name}": value for name, value in after.items()}).mappings().all():
        bind.execute(sa.text(update), [_terms(dict(row)) for row in rows])
        after = {name: rows[-1][name] for name in start}


def _terms(row: dict[str, Any]) -> dict[str, Any]:
    spec = row.pop("spec")
    a, b, c, d = weighted_terms(name=spec["name"], classification=spec["classification"],
                                items=(item["name"] for item in spec["items"]),
                                abstract=spec["abstract"])
    return {**row, "a": a, "b": b, "c": c, "d": d}


def downgrade() -> None:
    op.drop_table("entry_activity")
    op.drop_table("thesaurus_version")
