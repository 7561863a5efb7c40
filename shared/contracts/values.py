"""Value types the services' contracts share, each as strict in the OpenAPI document as the
server is: a year of the platform, text that says something, an amount in yuan."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import BeforeValidator, Field, WithJsonSchema

# The years the platform keeps records of and evaluates (periods are YYYY 2000–2099 too).
FIRST_YEAR, LAST_YEAR = 2000, 2099
Year = Annotated[int, Ge(FIRST_YEAR), Le(LAST_YEAR)]

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
        {"type": "number", "minimum": 0, "maximum": float(_LARGEST_AMOUNT)},
        {"type": "string", "pattern": AMOUNT_PATTERN},
    ]}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN}, mode="serialization"),
]
"""An amount in yuan, not negative, to the fen: a JSON number or a decimal string."""


# A moment as a caller writes it: ISO 8601 text. Pydantic would also read a bare number as
# seconds since 1970, which the document does not admit and no person means.
_NUMBER = re.compile(r"^\s*[-+]?[0-9.eE]+\s*$")


def _moment_text(value: object) -> object:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("a moment is ISO 8601 text, e.g. 2026-11-28T09:00:00+08:00")
    return value


Moment = Annotated[datetime, BeforeValidator(_moment_text)]
