"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS): how to
send the bulk format the exchange documents beside CSV."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def json_lines(context: Any, value: Any) -> bytes:
    """One JSON object per line, as providers stream records (E1)."""
    rows = value if isinstance(value, list) else [value]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
