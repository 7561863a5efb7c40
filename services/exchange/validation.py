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
CHECK_CHARACTERS = "0123456789X"  # an ID number's last character, by its check sum


class RowRejected(ValueError):
    """The row breaks a rule; the message says which item and why."""


Check = Callable[[str], str]


def _text(value: str) -> str:
    return value


def _text_of(raw: object) -> str:
    """A JSON value as the text a CSV would have held."""
    if type(raw) is str:
        return raw
    return str(raw).lower() if isinstance(raw, bool) else str(raw)


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


@functools.lru_cache(maxsize=65536)  # dates repeat: a century of birth dates is 36,525
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
    # A number already in its canonical form (most are) skips `ric.compact`, which costs
    # more than every check after it; compacting leaves such a number as it is.
    canonical = (len(value) == 18 and value.isascii() and value[:17].isdigit()
                 and value[17] in CHECK_CHARACTERS)
    number = value if canonical else ric.compact(value)
    if not canonical and (len(number) != 18 or not number[:-1].isdigit()):
        raise ValueError("not a valid ID number (18 characters, 17 digits first)")
    # `ric.calc_check_digit`'s sum (base 13 is 2 modulo 11: the weights 2^k of GB 11643).
    if number[-1] != CHECK_CHARACTERS[(1 - 2 * int(number[:-1], 13)) % 11]:
        raise ValueError("not a valid ID number (check digit)")
    if not _birth_date_exists(number[6:14]):
        raise ValueError("not a valid ID number (birth date)")
    if not region_ever_existed(number[:6]):
        raise ValueError("not a valid ID number (no such region code)")
    return number


@functools.lru_cache(maxsize=65536)  # a century of birth dates, and then some
def _birth_date_exists(digits: str) -> bool:
    """Whether YYYYMMDD (as `ric.get_birth_date` reads it) is a date of the calendar."""
    try:
        ric.get_birth_date(f"{'0' * 6}{digits}")
    except ValidationError:
        return False
    return True


# Cached because the lookup is costly and a million-row load must not repeat it per row;
# there are only a few thousand codes.
@functools.lru_cache(maxsize=8192)
def region_ever_existed(region: str) -> bool:
    """Whether `region` is a county-level code of GB/T 2260 at any time, by python-stdnum's
    region data (the same data `cn.ric` uses)."""
    # A province prefix with an unknown rest matches without a county: that code never
    # existed (and `ric.get_birth_place` itself fails on it with a KeyError).
    return any("county" in found for _, found in numdb.get("cn/loc").info(region))


# The credit codes of one load repeat (a few thousand bodies, many records each), and
# `uscc.validate` compacts the code twice, character by character.
@functools.lru_cache(maxsize=65536)
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


def item_check(code: str, type_check: Check, identifier_check: Check | None,
               length: int | None) -> Check:
    """Everything one item's value must pass, in one function (a million-row load calls
    it for every value): the text trimmed, no NUL, its type, its identifier rule, its
    length; RowRejected naming the item and the rule otherwise."""
    checks = [each for each in (type_check, identifier_check) if each and each is not _text]

    def check(raw: str) -> str:
        value = raw.strip()
        if "\x00" in value:  # PostgreSQL's text cannot hold it: refuse the row, not fail
            raise RowRejected(f"{code}: holds a NUL character (U+0000)")
        try:
            for each in checks:
                value = each(value)
        except ValueError as error:
            raise RowRejected(f"{code}: {error}") from None
        if length is not None and len(value) > length:
            raise RowRejected(f"{code}: longer than {length} characters")
        return value

    return check


class RowValidator:
    """Cleans one row of an entry: known items only, typed, within length, key present."""

    def __init__(self, items: list[Mapping[str, Any]], key_items: list[str]) -> None:
        self.key_items = key_items
        self._checks: dict[str, Check] = {
            item["code"]: item_check(
                item["code"], TYPE_CHECKS[DataType(item["data_type"])], subject_check(item),
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
        checks = self._checks
        return self._keyed({code: checks[code](_text_of(raw)) for code, raw in row.items()
                            if raw is not None and raw != ""})

    def for_columns(self, columns: list[str]) -> Callable[[list[str]], tuple[str, dict[str, str]]]:
        """`clean` for the values of a CSV line under `columns` (known items, each once),
        with no dict made of the line first."""
        checks = [self._checks[code] for code in columns]
        keyed, only_key = self._keyed, self.key_items[0] if len(self.key_items) == 1 else None

        def clean(values: list[str]) -> tuple[str, dict[str, str]]:
            cleaned = {}
            for code, check, raw in zip(columns, checks, values, strict=False):
                if raw:
                    cleaned[code] = check(raw)
            if only_key in cleaned:  # most entries have one key item: no call, no join
                return cleaned[only_key], cleaned
            return keyed(cleaned)

        return clean

    def _keyed(self, cleaned: dict[str, str]) -> tuple[str, dict[str, str]]:
        try:
            return KEY_SEPARATOR.join([cleaned[code] for code in self.key_items]), cleaned
        except KeyError:
            missing = [code for code in self.key_items if code not in cleaned]
            raise RowRejected(f"key items missing: {', '.join(missing)}") from None

    def key_of(self, values: list[str]) -> str:
        """The stored key for the key items' values, checked like the items themselves."""
        if len(values) != len(self.key_items):
            raise RowRejected(f"the key has {len(self.key_items)} parts: "
                              f"{', '.join(self.key_items)}")
        _, cleaned = self.clean(dict(zip(self.key_items, values, strict=True)))
        return KEY_SEPARATOR.join(cleaned[code] for code in self.key_items)
