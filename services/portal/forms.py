"""A page's form to the API's body, and the API's refusal back onto the form.

The portal checks nothing the API checks: it passes what the person typed on (an empty
input as absent), so the rules stay in the services, and shows each refusal at the input
the problem names (a nested name, `row_filter.0.values`, at the input it lies in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import FormData

from services.portal.exceptions import ApiProblem

FORM = "form"  # the messages no single input owns: shown above the form
_INDEX = re.compile(r"\[(\d+)\]")


def text(form: FormData, name: str) -> str | None:
    """The input's text, or None when it was left empty."""
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def texts(form: FormData, name: str) -> list[str]:
    """Every non-empty value of a multiple input (checkboxes of one name)."""
    return [value.strip() for value in form.getlist(name)
            if isinstance(value, str) and value.strip()]


def words(value: str | None) -> list[str]:
    """Values typed in one box, separated by commas, 、 or spaces."""
    return [word for word in re.split(r"[\s,，、;；]+", value or "") if word]


def field_errors(problem: ApiProblem, inputs: Iterable[str]) -> dict[str, str]:
    """The problem's messages at the form's `inputs`; what names none of them, at FORM."""
    inputs = sorted(inputs, key=len, reverse=True)
    errors: dict[str, str] = {}
    for named, message in problem.fields.items():
        errors.setdefault(_owner(_dotted(named), inputs), message)
    if not errors:
        errors[FORM] = problem.message
    elif FORM not in errors and problem.message not in errors.values():
        errors[FORM] = problem.message
    return errors


def _dotted(name: str) -> str:
    """`items[1].share_type` and `items.1.share_type` alike, as the latter."""
    return _INDEX.sub(r".\1", name)


def _owner(name: str, inputs: list[str]) -> str:
    for candidate in inputs:
        if name == candidate or name.startswith(candidate + "."):
            return candidate
    return FORM


def without_empty(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the inputs left empty (the API's defaults apply to them)."""
    return {name: value for name, value in body.items() if value not in (None, [], "")}
