"""Value types the services' contracts share, each as strict in the OpenAPI document as the
server is: a year of the platform, text that says something, an amount in yuan, a day and a
moment within the two centuries the platform keeps, integers its database can hold."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

# The years the platform keeps records of and evaluates (periods are YYYY 2000–2099 too).
FIRST_YEAR, LAST_YEAR = 2000, 2099
Year = Annotated[int, Ge(FIRST_YEAR), Le(LAST_YEAR)]

# The widest integer an INTEGER column holds (a version, a count kept as one): a larger one
# is refused as input, not failed on in the database (offsets, bigints: shared/pagination).
LARGEST_INTEGER = 2**31 - 1

# What a text field requires besides its length: a character other than whitespace. A
# minimum length alone lets "   " through in the document even where the server strips it
# and refuses it; as a pattern, the document says it too. Use it with strip_whitespace=True
# for what people write (names, reasons); without it, data values keep their spaces.
NOT_BLANK = r"\S"

# An amount in yuan as text: digits with at most two after the point, up to 12 before it
# (NUMERIC(14, 2) in the database); never "" or an exponent.
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)
_LARGEST_AMOUNT = Decimal("999999999999.99")


def _amount_text(value: object) -> object:
    """Refuse the texts a decimal would otherwise take ("1e3", " 5", "NaN") that the
    document's pattern does not allow."""
    if isinstance(value, str) and not _AMOUNT.match(value):
        raise ValueError("an amount is digits with at most two after the point, e.g. 1250.50")
    return value


Yuan = Annotated[
    Decimal,
    BeforeValidator(_amount_text),
    Field(ge=0, max_digits=14, decimal_places=2),
    WithJsonSchema({"anyOf": [
        # To the fen: the server refuses 0.001 as it refuses "0.001".
        {"type": "number", "minimum": 0, "maximum": float(_LARGEST_AMOUNT), "multipleOf": 0.01},
        {"type": "string", "pattern": AMOUNT_PATTERN},
    ]}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN}, mode="serialization"),
]
"""An amount in yuan, not negative, to the fen: a JSON number or a decimal string."""


# The days the platform keeps business dates of (a trigger, a grant's last day, a holiday):
# 1900-01-01 to 2099-12-31, a four-digit year starting 19 or 20. Later than 9999 or earlier
# than year 1 Python cannot count a day past or convert to UTC (a 500, not a refusal), and no
# date the rules speak of lies outside these two centuries.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)
DAY_PATTERN = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
# A moment within those days, in ISO 8601: the date first, then the time (its offset may take
# it a day over the edge, which UTC still holds).
MOMENT_PATTERN = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}[Tt ]"
_DAY, _MOMENT = re.compile(DAY_PATTERN), re.compile(MOMENT_PATTERN)
_WITHIN = f"from {FIRST_DAY} to {LAST_DAY}"


def _day_text(value: object) -> object:
    """Only YYYY-MM-DD text (or a date): pydantic would also read 0 or "0" as 1970-01-01."""
    if isinstance(value, date) or (isinstance(value, str) and _DAY.match(value)):
        return value
    raise ValueError(f"a date is YYYY-MM-DD, {_WITHIN}")


def _moment_text(value: object) -> object:
    """Only ISO 8601 text (or a datetime): pydantic would also read a number as seconds
    since 1970, which the document does not admit and no person means."""
    if isinstance(value, datetime) or (isinstance(value, str) and _MOMENT.match(value)):
        return value
    raise ValueError(f"a moment is ISO 8601 text {_WITHIN}, e.g. 2026-11-28T09:00:00+08:00")


def _within_calendar(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"outside the days the platform keeps ({_WITHIN})")
    return value


# `formatMinimum` and `formatMaximum` say the bounds for the validators that read them (the
# JSON Schema format-assertion vocabulary); the pattern says them for all the others.
_BOUNDS = {"formatMinimum": FIRST_DAY.isoformat(), "formatMaximum": LAST_DAY.isoformat()}

Day = Annotated[
    date,
    BeforeValidator(_day_text),
    AfterValidator(_within_calendar),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN, **_BOUNDS}),
]
"""A calendar day as YYYY-MM-DD, 1900-01-01 to 2099-12-31."""

Moment = Annotated[
    datetime,
    BeforeValidator(_moment_text),
    AfterValidator(_within_calendar),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": MOMENT_PATTERN}),
]
"""A moment as ISO 8601 text, on a day from 1900-01-01 to 2099-12-31 (where it is said)."""
