"""The exchange's rules that need no database: row checks, row filters, the audit hash."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from stdnum.cn import ric

from services.exchange.audit import GENESIS, entry_hash
from services.exchange.filters import passes, project
from services.exchange.models import AuditEntry
from services.exchange.validation import RowRejected, RowValidator, _id_number
from shared.contracts.sharing import RowCondition
from tests import factories

ITEMS = [{"code": "GMSFHM", "name": "公民身份号码", "data_type": "C", "length": 18},
         {"code": "XM", "name": "姓名", "data_type": "C", "length": 4},
         {"code": "CSRQ", "name": "出生日期", "data_type": "D"},
         {"code": "JFJS", "name": "缴费基数", "data_type": "Y"},
         {"code": "SFZX", "name": "是否注销", "data_type": "L"}]


def test_id_numbers_are_judged_exactly_as_python_stdnum_judges_them() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        number = factories.id_number(rng.choice(["320102", "320505", "110101", "999999"]))
        if rng.random() < 0.3:
            number = number[:-1] + rng.choice("0123456789X")
        if rng.random() < 0.1:
            number = number[:10] + "1399" + number[14:]
        try:
            _id_number(number)
            ours = True
        except ValueError:
            ours = False
        assert ours == ric.is_valid(number), number


def test_a_clean_row_is_keyed_typed_and_canonical() -> None:
    validator = RowValidator(ITEMS, ["GMSFHM"])
    number = factories.id_number()
    key, row = validator.clean({"GMSFHM": number, "XM": " 张三 ", "CSRQ": "1990-01-01",
                                "JFJS": "5000.50", "SFZX": "否"})
    assert key == number
    assert row == {"GMSFHM": number, "XM": "张三", "CSRQ": "1990-01-01", "JFJS": "5000.50",
                   "SFZX": "false"}


@pytest.mark.parametrize(("row", "reason"), [
    ({"XM": "张三"}, "key items missing: GMSFHM"),
    ({"GMSFHM": "110101199003071234"}, "GMSFHM: not a valid ID number (check digit)"),
    ({"GMSFHM": "{id}", "XM": "欧阳娜娜娜"}, "XM: longer than 4 characters"),
    ({"GMSFHM": "{id}", "CSRQ": "1990-02-30"}, "CSRQ: not a date (YYYY-MM-DD)"),
    ({"GMSFHM": "{id}", "JFJS": "五千"}, "JFJS: not a number"),
    ({"GMSFHM": "{id}", "HJDZ": "南京"}, "unknown items: HJDZ"),
])
def test_each_broken_rule_is_named(row: dict[str, str], reason: str) -> None:
    number = factories.id_number()
    with pytest.raises(RowRejected) as refused:
        RowValidator(ITEMS, ["GMSFHM"]).clean({k: v.format(id=number) for k, v in row.items()})
    assert str(refused.value) == reason


def test_the_row_filter_and_projection() -> None:
    nanjing = [RowCondition(item="GMSFHM", op="prefix", values=["3201"])]
    row = {"GMSFHM": "320102199001011234", "XM": "张三", "CSRQ": "1990-01-01"}
    assert passes(nanjing, row)
    assert not passes(nanjing, {**row, "GMSFHM": "320505199001011234"})
    assert not passes([RowCondition(item="XM", op="in", values=["李四"])], row)
    assert not passes(nanjing, {"XM": "张三"})  # an absent item never passes
    assert project(row, ["XM", "HJDZ"]) == {"XM": "张三", "HJDZ": None}


def test_the_audit_hash_covers_every_field_and_the_link() -> None:
    entry = AuditEntry(id=1, kind="query", consumer="c", provider="p", entry_code="1/000001",
                       grant_id=uuid.uuid4(), purpose="data_verification", items=["XM"],
                       record_count=1, denied=None, actor="a", node="n",
                       at=datetime(2026, 11, 22, tzinfo=UTC))
    digest = entry_hash(entry, 1, GENESIS)
    assert digest != entry_hash(entry, 1, "1" * 64)
    for field, value in (("record_count", 2), ("items", ["XM", "GMSFHM"]), ("consumer", "x"),
                         ("at", datetime(2026, 11, 23, tzinfo=UTC))):
        original = getattr(entry, field)
        setattr(entry, field, value)
        assert entry_hash(entry, 1, GENESIS) != digest, field
        setattr(entry, field, original)
    assert entry_hash(entry, 1, GENESIS) == digest
