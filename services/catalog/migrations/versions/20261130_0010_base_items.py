"""catalog: the base-item register of each base resource and its lead department (C3)

Which items of a base resource are base items, always shared unconditionally, is the
register's, kept by the resource's lead department [JS §11(二)], not each provider's tick.

A fresh node starts with the items the law itself fixes, so that C3 holds from the first
entry; the lead departments, once appointed, add to and remove from this list:

- population (人口, 01): the items a resident identity card registers,
  《中华人民共和国居民身份证法》第三条 — 姓名, 性别, 民族, 出生日期,
  常住户口所在地住址 (住址), 公民身份号码 (GB 11643-1999);
- legal entities (法人单位, 02): the unified social credit code and the
  registration items it is issued with (国发〔2015〕33号; GB 32100-2015) —
  统一社会信用代码, 机构名称, 法定代表人 (负责人), 注册地址 (住所).

Their codes are those departments' systems commonly use (the pinyin initials); an item of
another code is still a base item when its name is one of these.

Revision ID: 20261130_0010
Revises: 20261129_0009
Create Date: 2026-11-30
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "20261130_0010"
down_revision = "20261129_0009"
branch_labels = None
depends_on = None

SEEDED_BY = "migration 20261130_0010"
SOURCES = {
    "01": "《中华人民共和国居民身份证法》第三条: 居民身份证登记的项目",
    "02": "国发〔2015〕33号 统一社会信用代码制度; GB 32100-2015",
}
# (base resource, code, name); the names are already as normalise_item_name leaves them
# (no spaces, punctuation or full-width letters), so they are stored as they are.
SEEDED = [
    ("01", "GMSFHM", "公民身份号码"), ("01", "XM", "姓名"), ("01", "XB", "性别"),
    ("01", "MZ", "民族"), ("01", "CSRQ", "出生日期"), ("01", "ZZ", "住址"),
    ("02", "TYSHXYDM", "统一社会信用代码"), ("02", "JGMC", "机构名称"),
    ("02", "FDDBR", "法定代表人"), ("02", "ZCDZ", "注册地址"),
]


def upgrade() -> None:
    op.create_table(
        "base_subject_lead",
        sa.Column("subject", sa.String(2), primary_key=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False),
        sa.Column("appointed_by", sa.String(64), nullable=False),
        sa.Column("appointed_at", sa.DateTime(timezone=True), nullable=False),
    )
    base_item = op.create_table(
        "base_item",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("subject", sa.String(2), nullable=False),
        sa.Column("item_code", sa.String(50), nullable=False),
        sa.Column("item_name", sa.String(500), nullable=False),
        sa.Column("normalised_name", sa.String(500), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("removed_by", sa.String(64)),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        sa.Column("removal_reason", sa.Text),
    )
    op.create_index("uq_base_item_code", "base_item", ["subject", "item_code"], unique=True,
                    postgresql_where=sa.text("removed_at IS NULL"))
    op.create_index("uq_base_item_name", "base_item", ["subject", "normalised_name"],
                    unique=True, postgresql_where=sa.text("removed_at IS NULL"))
    op.bulk_insert(base_item, [
        {"id": uuid.uuid4(), "subject": subject, "item_code": code, "item_name": name,
         "normalised_name": name, "reason": SOURCES[subject], "registered_by": SEEDED_BY}
        for subject, code, name in SEEDED])


def downgrade() -> None:
    op.drop_table("base_item")
    op.drop_table("base_subject_lead")
