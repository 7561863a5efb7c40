"""What changed between two versions of an entry, field by field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldChange(BaseModel):
    path: str
    before: Any = None
    after: Any = None


def diff_specs(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Changes between two entry declarations; info items are matched by their code."""
    changes: list[FieldChange] = []
    _diff(before, after, "", changes)
    return changes


def _diff(before: Any, after: Any, path: str, changes: list[FieldChange]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            _diff(before.get(key), after.get(key), f"{path}.{key}" if path else key, changes)
    elif _keyed_by_code(before) and _keyed_by_code(after):
        _diff({i["code"]: i for i in before}, {i["code"]: i for i in after}, path, changes)
    elif before != after:
        changes.append(FieldChange(path=path, before=before, after=after))


def _keyed_by_code(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "code" in i for i in value)
