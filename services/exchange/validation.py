"""Checking a provider's rows against the entry's info items (E1).

Each value is checked for its declared data type and length, and items that name a subject
are checked as what they are: ID numbers with `python-stdnum`'s `cn.ric` (a region code
counts if it ever existed), unified social credit codes with `cn.uscc`. Values are stored
as their canonical text, so a download gives back exactly what was accepted (currency keeps
its digits, dates read ISO 8601).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from shared.contracts.catalog import DataType

KEY_SEPARATOR = "\x1f"  # joins the values of a composite key; never in a value
TRUE_TEXTS = {"true", "1", "y", "yes", "是", "t"}
FALSE_TEXTS = {"false", "0", "n", "no", "否", "f"}
ID_NUMBER_CODES = {"GMSFHM", "SFZH", "SFZHM", "ZJHM"}
CREDIT_CODE_CODES = {"TYSHXYDM", "SHXYDM"}


class RowRejected(ValueError):
    """The row breaks a rule; the message says which item and why."""


Check = Callable[[str], str]


def _text(value: str) -> str:
    return value


def _decimal(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    return value


def _integer(value: str) -> str:
    try:
        return str(int(value))
    except ValueError:
        raise ValueError("not an integer") from None


def _date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None


def _datetime(value: str) -> str:
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("not a date and time (ISO 8601)") from None


def _logical(value: str) -> str:
    lowered = value.lower()
    if lowered in TRUE_TEXTS:
        return "true"
    if lowered in FALSE_TEXTS:
        return "false"
    raise ValueError("not a logical value (true/false)")


def _id_number(value: str) -> str:
    """`cn.ric.validate`'s checks, except that the region code need only have existed at some
    time, not at the birth date: people born before their county's code existed were issued
    numbers with the code current then (玄武区 320102 from 1983 for someone born in 1978),
    and people keep their numbers after a code is abolished."""
    number = ric.compact(value)
    if len(number) != 18 or not number[:-1].isdigit():
        raise ValueError("not a valid ID number (18 characters, 17 digits first)")
    if number[-1] != ric.calc_check_digit(number):
        raise ValueError("not a valid ID number (check digit)")
    try:
        ric.get_birth_date(number)
    except ValidationError:
        raise ValueError("not a valid ID number (birth date)") from None
    if not region_ever_existed(number[:6]):
        raise ValueError("not a valid ID number (no such region code)")
    return number


# Cached because the lookup is costly and a million-row load must not repeat it per row;
# there are only a few thousand codes.
@functools.lru_cache(maxsize=8192)
def region_ever_existed(region: str) -> bool:
    """Whether `region` is a county-level code of GB/T 2260 at any time, by python-stdnum's
    region data (the same data `cn.ric` uses)."""
    # A province prefix with an unknown rest matches without a county: that code never
    # existed (and `ric.get_birth_place` itself fails on it with a KeyError).
    return any("county" in found for _, found in numdb.get("cn/loc").info(region))


def _credit_code(value: str) -> str:
    try:
        return str(uscc.validate(value))
    except ValidationError as error:
        raise ValueError(f"not a valid unified social credit code ({error.message})") from None


TYPE_CHECKS: dict[DataType, Check] = {
    DataType.C: _text, DataType.M: _text, DataType.G: _text,
    DataType.N: _decimal, DataType.Y: _decimal, DataType.B: _decimal, DataType.F: _decimal,
    DataType.I: _integer, DataType.D: _date, DataType.T: _datetime, DataType.L: _logical,
}


def subject_check(item: Mapping[str, Any]) -> Check | None:
    """The identifier check an item needs, judged by its code or its name."""
    code, name = str(item["code"]).upper(), str(item["name"])
    if code in ID_NUMBER_CODES or "身份号码" in name or "身份证号" in name:
        return _id_number
    if code in CREDIT_CODE_CODES or "统一社会信用代码" in name:
        return _credit_code
    return None


class RowValidator:
    """Cleans one row of an entry: known items only, typed, within length, key present."""

    def __init__(self, items: list[Mapping[str, Any]], key_items: list[str]) -> None:
        self.key_items = key_items
        self._checks: dict[str, tuple[Check, Check | None, int | None]] = {
            item["code"]: (TYPE_CHECKS[DataType(item["data_type"])], subject_check(item),
                           item.get("length") if item["data_type"] == DataType.C else None)
            for item in items
        }

    @property
    def item_codes(self) -> list[str]:
        return list(self._checks)

    def clean(self, row: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        """The row's key and its cleaned values; RowRejected names the first problem."""
        unknown = [code for code in row if code not in self._checks]
        if unknown:
            raise RowRejected(f"unknown items: {', '.join(sorted(unknown))}")
        cleaned: dict[str, str] = {}
        for code, raw in row.items():
            if raw is None or raw == "":
                continue
            value = str(raw).strip() if not isinstance(raw, bool) else str(raw).lower()
            if "\x00" in value:  # PostgreSQL's text cannot hold it: refuse the row, not fail
                raise RowRejected(f"{code}: holds a NUL character (U+0000)")
            type_check, identifier_check, length = self._checks[code]
            try:
                value = type_check(value)
                if identifier_check:
                    value = identifier_check(value)
            except ValueError as error:
                raise RowRejected(f"{code}: {error}") from None
            if length is not None and len(value) > length:
                raise RowRejected(f"{code}: longer than {length} characters")
            cleaned[code] = value
        missing = [code for code in self.key_items if code not in cleaned]
        if missing:
            raise RowRejected(f"key items missing: {', '.join(missing)}")
        return KEY_SEPARATOR.join(cleaned[code] for code in self.key_items), cleaned

    def key_of(self, values: list[str]) -> str:
        """The stored key for the key items' values, checked like the items themselves."""
        if len(values) != len(self.key_items):
            raise RowRejected(f"the key has {len(self.key_items)} parts: "
                              f"{', '.join(self.key_items)}")
        _, cleaned = self.clean(dict(zip(self.key_items, values, strict=True)))
        return KEY_SEPARATOR.join(cleaned[code] for code in self.key_items)
