"""Credit codes (GB 32100, via python-stdnum) and region codes (GB/T 2260)."""

from __future__ import annotations

import pytest

from shared.identifiers import check_credit_code, check_region_code
from tests import factories


def test_generated_credit_codes_are_valid() -> None:
    for _ in range(50):
        code = factories.credit_code()
        assert check_credit_code(code) == code


def test_a_wrong_check_character_is_refused() -> None:
    code = factories.credit_code()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ValueError, match="credit code"):
        check_credit_code(wrong)


@pytest.mark.parametrize("code", ["100000", "320000", "320100", "320102", "110000", "650100"])
def test_known_region_codes_pass(code: str) -> None:
    assert check_region_code(code) == code


@pytest.mark.parametrize("code", ["990100", "32010", "3201000", "abcdef", "000000"])
def test_unknown_region_codes_fail(code: str) -> None:
    with pytest.raises(ValueError, match="GB/T 2260"):
        check_region_code(code)
