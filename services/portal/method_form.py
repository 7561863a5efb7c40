"""The scoring method's form (考核办法, V2): the method as inputs and the inputs as the API's
body, each input named as the API names its field (`indicators.quality.weight`), so a
refusal lands at the input it is about."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from services.portal.forms import text, without_empty
from services.portal.labels import LABELS

INDICATORS = tuple(LABELS["indicator"])
SETTINGS = ("name", "pass_score", "report_due_month", "report_basis", "rectification_days",
            "objection_settle_days", "zombie_max_uses", "data_due_days")
RULE = ("weight", "threshold", "points", "blocks_funding")
INPUTS = (*SETTINGS, *(f"indicators.{indicator}.{part}" for indicator in INDICATORS
                       for part in RULE))
# The points of the rules are separated by ；or a new line: a point's own text has spaces
# and commas in it ("51 §24(一)").
_POINTS = re.compile(r"[;；、\n]+")


def method_body(form: FormData) -> dict[str, Any]:
    """The method as typed, for the API to judge (an empty input as absent)."""
    return {**without_empty({name: text(form, name) for name in SETTINGS}),
            "indicators": {indicator: _rule(form, f"indicators.{indicator}")
                           for indicator in INDICATORS}}


def _rule(form: FormData, prefix: str) -> dict[str, Any]:
    return {**without_empty({part: text(form, f"{prefix}.{part}")
                             for part in ("weight", "threshold")}),
            "points": [point.strip() for point in _POINTS.split(text(form, f"{prefix}.points")
                                                               or "") if point.strip()],
            "blocks_funding": form.get(f"{prefix}.blocks_funding") == "on"}


def method_inputs(method: dict[str, Any]) -> dict[str, Any]:
    """The inputs' values showing `method` (as the API gives it, or as typed)."""
    values: dict[str, Any] = {name: method.get(name, "") for name in SETTINGS}
    for indicator in INDICATORS:
        rule = method.get("indicators", {}).get(indicator, {})
        values |= {f"indicators.{indicator}.weight": rule.get("weight", ""),
                   f"indicators.{indicator}.threshold": rule.get("threshold", ""),
                   f"indicators.{indicator}.points": "；".join(rule.get("points", [])),
                   f"indicators.{indicator}.blocks_funding": rule.get("blocks_funding", False)}
    return {name: _shown(value) for name, value in values.items()}


def _shown(value: Any) -> Any:
    """A whole number without its `.0` (a weight of 20, not 20.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
