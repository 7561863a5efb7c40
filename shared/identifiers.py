"""Identifiers every service checks the same way: credit codes and region codes.

Both are exposed as pydantic `Annotated` types so a schema field validates on input and
a bad value becomes a 422 problem naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

# Province-level prefixes of GB/T 2260 (11 Beijing … 65 Xinjiang, 71 Taiwan, 81/82 HK/Macao).
PROVINCE_PREFIXES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})
NATIONAL_REGION = "100000"
REGION_PATTERN = r"^[0-9]{6}$"
_REGION_SHAPE = re.compile(REGION_PATTERN)
# The shape of a credit code (its alphabet leaves out I, O, S, V and Z; the check upper-cases
# it first), so the document refuses what the check would, short of the check digit.
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"


def check_credit_code(value: str) -> str:
    """A valid 18-character unified social credit code (GB 32100), upper-cased."""
    try:
        return uscc.validate(value)
    except StdnumError as error:
        raise ValueError(
            f"not a valid unified social credit code ({error.message})"
        ) from error


def check_region_code(value: str) -> str:
    """A GB/T 2260 administrative division code, or 100000 for the national tier."""
    if value == NATIONAL_REGION:
        return value
    if not _REGION_SHAPE.match(value) or value[:2] not in PROVINCE_PREFIXES:
        raise ValueError(
            "not a GB/T 2260 region code (six digits, a known province prefix, "
            "or 100000 for national)"
        )
    return value


CreditCode = Annotated[
    str,
    Field(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN,
          examples=["91320000134755327X"],
          description="Unified social credit code (统一社会信用代码), GB 32100."),
    AfterValidator(check_credit_code),
]
RegionCode = Annotated[
    str,
    Field(min_length=6, max_length=6, pattern=REGION_PATTERN, examples=["320100"],
          description="GB/T 2260 region code; 100000 for the national tier."),
    AfterValidator(check_region_code),
]
