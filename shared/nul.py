"""Where a request holds the NUL character (U+0000), which PostgreSQL's text cannot store.

The body guard (shared/web.py) finds that a query string or a body holds one with a cheap
scan of the bytes, on every call; only then are they parsed here, to name each field that
holds one the way a validation problem names it (`body.items.2.name`, `query.name`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

NUL = "\0"
# A problem names this many fields at most: a body full of them needs no longer answer.
MOST_NAMED = 20


def fields_in_json(text: str) -> list[str]:
    """The fields of a JSON body whose string (or key) holds a NUL, in document order; the
    body as a whole when it is not JSON."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return ["body"]
    found: list[str] = []
    # (where, value, whether the key naming it holds a NUL), the next to look at on top
    stack: list[tuple[str, Any, bool]] = [("body", document, False)]
    while stack and len(found) < MOST_NAMED:
        where, value, named_with_nul = stack.pop()
        if named_with_nul or (isinstance(value, str) and NUL in value):
            found.append(where)
        if isinstance(value, dict):
            stack += [(f"{where}.{_readable(key)}", item, NUL in key)
                      for key, item in reversed(value.items())]
        elif isinstance(value, list):
            stack += [(f"{where}.{index}", item, False)
                      for index, item in reversed(list(enumerate(value)))]
    return found or ["body"]


def fields_in_form(text: str, section: str) -> list[str]:
    """The fields of a query string or a form (`section`: query, body) whose name or value
    holds a NUL once decoded; the section as a whole if none does."""
    pairs = parse_qsl(text, keep_blank_values=True)
    found = [f"{section}.{_readable(name)}" for name, value in pairs
             if NUL in name or NUL in value]
    return list(dict.fromkeys(found))[:MOST_NAMED] or [section]


def _readable(name: str) -> str:
    """A name as a problem can show it: a NUL in it written as JSON writes it."""
    return name.replace(NUL, "\\u0000")
