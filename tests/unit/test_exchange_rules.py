"""The exchange's rules that need no database: row checks, row filters, downloads, freshness,
the audit hash."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from stdnum.cn import ric

from services.exchange.audit import GENESIS, entry_hash
from services.exchange.download import Export, Format, _select, _where
from services.exchange.filters import passes, project
from services.exchange.freshness import freshness_of, stale_after
from services.exchange.models import AuditEntry, Resource
from services.exchange.validation import RowRejected, RowValidator, _id_number
from shared.contracts.sharing import RowCondition
from tests import factories

ITEMS = [{"code": "GMSFHM", "name": "公民身份号码", "data_type": "C", "length": 18},
         {"code": "XM", "name": "姓名", "data_type": "C", "length": 4},
         {"code": "CSRQ", "name": "出生日期", "data_type": "D"},
         {"code": "JFJS", "name": "缴费基数", "data_type": "Y"},
         {"code": "SFZX", "name": "是否注销", "data_type": "L"}]


def _with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")  # it expects a check-digit slot


def test_id_numbers_are_judged_by_check_digit_birth_date_and_a_region_that_ever_existed(
) -> None:
    # Births from 1930 on, in codes created later (320505 in 2000, 320102 in 1983), one
    # abolished (320121 in 2000), one always there (110101) and one that never was.
    rng = random.Random(7)
    ever = {"320102", "320505", "320121", "110101"}
    for _ in range(5000):
        region = rng.choice([*sorted(ever), "999999"])
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90))
        number = _with_check_digit(f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}")
        if rng.random() < 0.3:
            number = number[:-1] + rng.choice("0123456789X")
        if rng.random() < 0.1:
            number = number[:10] + "1399" + number[14:]
        try:
            _id_number(number)
            ours = True
        except ValueError:
            ours = False
        valid_date = number[10:14] != "1399"
        expected = (number[-1] == ric.calc_check_digit(number) and valid_date
                    and region in ever)
        assert ours == expected, number


@pytest.mark.parametrize("number", [
    "320102197805051230",  # 玄武区, code from 1983, born 1978
    "310115195006120018",  # 浦东新区, code from 1992, born 1950
    "320115194503010028",  # 江宁区, code from 2000, born 1945
    "320121198007070035",  # 江宁县, abolished in 2000
    "310102195503150056",  # 南市区 (Shanghai), abolished in 2000
    "31022519600101004X",  # 南汇县, code from 1982 to 2001, born 1960
])
def test_genuine_numbers_with_codes_newer_than_the_birth_or_since_abolished_are_accepted(
    number: str,
) -> None:
    assert _id_number(number) == number


@pytest.mark.parametrize(("number", "reason"), [
    ("999999198001010011", "no such region code"),
    ("329999198001010017", "no such region code"),  # a real province, a county never coded
    ("320102197805051231", "check digit"),
    (_with_check_digit("32010219780230123"), "birth date"),  # 30 February
    (_with_check_digit("32010219781305123"), "birth date"),
])
def test_a_code_never_used_a_bad_check_digit_or_an_impossible_date_is_refused(
    number: str, reason: str,
) -> None:
    with pytest.raises(ValueError, match=reason):
        _id_number(number)


def test_an_id_number_written_loosely_is_kept_as_written_canonically() -> None:
    number = "31022519600101004X"  # 南汇县, the check digit X
    for written in (number[:-1] + "x", f" {number} ", number.replace("0", "０")):
        assert _id_number(written) == number, written  # x written small, spaced, full width
    with pytest.raises(ValueError, match="18 characters"):
        _id_number(f"{number[:6]} {number[6:]}")


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
    # A streamed record with it would otherwise fail in PostgreSQL on every retry.
    ({"GMSFHM": "{id}", "XM": "张\x00"}, "XM: holds a NUL character (U+0000)"),
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


def test_only_a_download_since_a_cursor_carries_deletions_and_they_keep_only_the_key() -> None:
    full = Export("101001/000001", ("XM", "GMSFHM"), (), since=0, key_items=("GMSFHM",))
    where, _ = _where(full)
    assert not full.tombstones and "NOT deleted" in where
    assert "CASE" not in _select(full, Format.jsonl, where, 3)

    since = Export("101001/000001", ("XM", "GMSFHM"), (), since=42, key_items=("GMSFHM",))
    where, params = _where(since)
    assert since.tombstones and "deleted" not in where and params[1] == 42
    for fmt in Format:
        projection = _select(since, fmt, where, 3)
        assert "CASE WHEN deleted THEN NULL ELSE data->" in projection  # XM is emptied
        assert projection.count("CASE") == 1  # GMSFHM, the key, is kept
        assert "_deleted" in projection


@pytest.mark.parametrize(("cycle", "loaded_days_ago", "live", "state"), [
    ("daily", 1, False, "fresh"),
    ("daily", 3, False, "stale"),
    ("other", 3650, False, "no_cycle"),  # no declared period: never stale
    ("other", None, False, "no_data"),
    ("other", 3650, True, "live"),
    ("fortnightly", 30, False, "no_cycle"),  # a cycle this node does not know
])
def test_freshness_is_judged_against_the_declared_cycle_if_it_has_a_period(
    cycle: str, loaded_days_ago: int | None, live: bool, state: str,
) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    loaded = None if loaded_days_ago is None else now - timedelta(days=loaded_days_ago)
    resource = Resource(code="101001/000001", provider="11320100MB0000000A", name="人口",
                        update_cycle=cycle, last_loaded_at=loaded)
    found = freshness_of(resource, live, now)
    assert found.state == state
    assert (found.due_by is None) == (state != "fresh" and state != "stale")
    assert (stale_after(cycle) is None) == (cycle in {"other", "fortnightly"})
