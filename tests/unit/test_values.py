"""The shared value types: what the server takes is what the document says it takes."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from shared.contracts.values import (
    AMOUNT_PATTERN,
    DAY_PATTERN,
    MOMENT_PATTERN,
    NOT_BLANK,
    Day,
    Moment,
    Yuan,
)


class Filing(BaseModel):
    amount: Yuan = Field(description="Yuan.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           pattern=NOT_BLANK)]


@pytest.mark.parametrize("amount", ["0", "12", "1250.5", "1250.50", "999999999999.99", 0, 12.5])
def test_an_amount_in_yuan_is_taken_as_a_number_or_as_decimal_text(amount: object) -> None:
    assert Filing(amount=amount, name="人口库").amount == Decimal(str(amount))


@pytest.mark.parametrize("amount", ["", " 5", "1e3", "NaN", "-1", "12.345", "1234567890123",
                                    -1, 0.001, 1e13])
def test_anything_else_is_refused(amount: object) -> None:
    with pytest.raises(ValidationError):
        Filing(amount=amount, name="人口库")
    if isinstance(amount, str):  # and the document refuses it too
        assert not re.search(AMOUNT_PATTERN, amount)


def test_the_document_gives_the_amounts_shape() -> None:
    schema = Filing.model_json_schema()["properties"]["amount"]
    assert schema["anyOf"] == [{"type": "number", "minimum": 0, "maximum": 999999999999.99,
                                "multipleOf": 0.01},
                               {"type": "string", "pattern": AMOUNT_PATTERN}]
    assert Filing.model_json_schema(mode="serialization")["properties"]["amount"][
        "pattern"] == AMOUNT_PATTERN


@pytest.mark.parametrize("name", ["", " ", "\u3000\t\n"])
def test_whitespace_alone_is_not_text_for_the_server_nor_the_document(name: str) -> None:
    with pytest.raises(ValidationError):
        Filing(amount=1, name=name)
    assert not re.search(NOT_BLANK, name)


class Window(BaseModel):
    first: Day
    at: Moment | None = None


@pytest.mark.parametrize("day", ["1900-01-01", "2024-02-29", "2099-12-31", date(2026, 11, 28)])
def test_a_day_of_the_two_centuries_is_taken(day: object) -> None:
    assert Window(first=day).first == date.fromisoformat(str(day))


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2100-01-01",
                                 "2024-02-30", "0", 0, "20240101", "2024-01-01T00:00:00",
                                 date(9999, 12, 31), date(1, 1, 1)])
def test_a_day_past_the_calendar_or_not_written_as_one_is_refused(day: object) -> None:
    """9999-12-31 has no next day to count a deadline to; 0 would be read as 1970-01-01."""
    with pytest.raises(ValidationError) as refused:
        Window(first=day)
    assert refused.value.errors()[0]["loc"] == ("first",)
    if isinstance(day, str):  # and the document refuses what the server does
        assert not re.search(DAY_PATTERN, day) or not date_exists(day)


def date_exists(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("moment", ["1900-01-01T00:00:00+14:00", "2099-12-31T23:59:59-12:00",
                                    "2026-11-28T09:00:00+08:00", "2026-11-28 09:00:00"])
def test_a_moment_of_the_two_centuries_is_taken_with_any_offset(moment: str) -> None:
    at = Window(first="2026-01-01", at=moment).at
    assert at is not None and re.search(MOMENT_PATTERN, moment)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                                    "2100-01-01T00:00:00+08:00", "0.5", 1_700_000_000,
                                    "2026-11-28", datetime(9999, 12, 31)])
def test_a_moment_the_database_could_not_convert_to_utc_is_refused(moment: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Window(first="2026-01-01", at=moment)
    assert refused.value.errors()[0]["loc"] == ("at",)


def test_the_document_gives_the_days_bounds() -> None:
    schema = Window.model_json_schema()["properties"]
    assert schema["first"] == {"type": "string", "format": "date", "pattern": DAY_PATTERN,
                               "formatMinimum": "1900-01-01", "formatMaximum": "2099-12-31",
                               "title": "First"}
    assert schema["at"]["anyOf"][0] == {"type": "string", "format": "date-time",
                                        "pattern": MOMENT_PATTERN}
