"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS): how to
send the bulk format the exchange documents beside CSV, and the catalog's workbooks."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def json_lines(context: Any, value: Any) -> bytes:
    """One JSON object per line, as providers stream records (E1)."""
    rows = value if isinstance(value, list) else [value]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


@schemathesis.serializer("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def workbook(context: Any, value: Any) -> bytes:
    """The bytes generated for a workbook (W4) as they are: the catalog must refuse what is
    no .xlsx with a problem, never fail on it."""
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()
