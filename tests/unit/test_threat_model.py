"""The threat model in docs/operations.md names, for each threat, the tests that try the
attack: each one named must exist, or the table would promise proof that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def named_tests() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text[text.index("## Threat model"):]
    named, current = [], ""
    for cell in re.findall(r"`([^`]+)`", section):
        module, _, test = cell.partition("::")
        if module.endswith(".py"):
            current = module
        if test and current:
            named.append((current, test))
    return named


def test_every_test_the_threat_model_names_exists() -> None:
    named = named_tests()
    assert len(named) >= 20
    sources: dict[str, str] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):  # a name may stand in two folders
        sources[path.name] = sources.get(path.name, "") + path.read_text()
    missing = [f"{module}::{test}" for module, test in named
               if f"def {test}(" not in sources.get(module, "")]
    assert not missing, missing
