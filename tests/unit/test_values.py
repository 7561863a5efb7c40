"""The shared value types: what the server takes is what the document says it takes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from shared.contracts.values import AMOUNT_PATTERN, NOT_BLANK, Yuan


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
    assert schema["anyOf"] == [{"type": "number", "minimum": 0, "maximum": 999999999999.99},
                               {"type": "string", "pattern": AMOUNT_PATTERN}]
    assert Filing.model_json_schema(mode="serialization")["properties"]["amount"][
        "pattern"] == AMOUNT_PATTERN


@pytest.mark.parametrize("name", ["", " ", "\u3000\t\n"])
def test_whitespace_alone_is_not_text_for_the_server_nor_the_document(name: str) -> None:
    with pytest.raises(ValidationError):
        Filing(amount=1, name=name)
    assert not re.search(NOT_BLANK, name)
