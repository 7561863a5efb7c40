"""`govshare download`: a department system's bulk download (E3), resumable.

Rows go to the output file as they arrive; the cursor of the last complete row is kept
beside it (`<file>.cursor`). Run the same command again after an interruption and it asks
only for the rows after that cursor and appends them; run it again after a completed
download and it fetches only what changed since (an incremental download).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CURSOR_EVERY = 10_000  # rows between cursor saves


@dataclass(frozen=True)
class DownloadRequest:
    gateway: str
    token: str
    entry_code: str
    purpose: str
    output: Path
    format: str = "csv"
    items: tuple[str, ...] = ()


@dataclass
class DownloadResult:
    rows: int
    cursor: int
    resumed_from: int


def cursor_file(output: Path) -> Path:
    return output.with_name(output.name + ".cursor")


def client_token(gateway: str, client_id: str, client_secret: str) -> str:
    response = httpx.post(f"{gateway}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": client_secret}, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def download(request: DownloadRequest,
             progress: Callable[[int | None, int], None]) -> DownloadResult:
    """Fetch the rows after the saved cursor into `request.output`; `progress(total, done)`
    is called as rows arrive (total from the server's snapshot)."""
    saved = cursor_file(request.output)
    since = int(saved.read_text()) if saved.exists() and request.output.exists() else 0
    params: dict[str, object] = {"purpose": request.purpose, "format": request.format,
                                 "since": since, "items": list(request.items)}
    rows, cursor = 0, since
    with httpx.stream("GET", f"{request.gateway}/api/exchange/entries/{request.entry_code}"
                      "/records", params=params, timeout=httpx.Timeout(30, read=300),
                      headers={"Authorization": f"Bearer {request.token}"}) as response:
        if response.status_code != 200:
            response.read()
            raise DownloadRefused(response)
        total = int(response.headers.get("x-record-count", 0)) or None
        end = int(response.headers.get("x-cursor-end", since))
        with open(request.output, "ab" if since else "wb") as out:
            records = _records(response.iter_bytes(), request.format)
            if request.format == "csv":
                header = next(records, b"")
                if not since:
                    out.write(header)
            for record in records:
                out.write(record)
                cursor, rows = _cursor_of(record, request.format), rows + 1
                if rows % CURSOR_EVERY == 0:
                    out.flush()
                    saved.write_text(str(cursor))
                progress(total, rows)
        saved.write_text(str(max(cursor, end)))
    return DownloadResult(rows, max(cursor, end), since)


class DownloadRefused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
            message = f"{body.get('title')}: {body.get('detail')}"
        except ValueError:
            message = response.text[:200]
        super().__init__(f"{response.status_code} {message}")


def _records(chunks: Iterator[bytes], fmt: str) -> Iterator[bytes]:
    """Complete records (a CSV record may span lines inside quotes)."""
    pending = b""
    for chunk in chunks:
        data, start, search = pending + chunk, 0, 0
        while (newline := data.find(b"\n", search)) != -1:
            search = newline + 1
            if fmt == "csv" and data.count(b'"', start, newline) % 2:
                continue  # the line break is inside a quoted value
            yield data[start:search]
            start = search
        pending = data[start:]


def _cursor_of(record: bytes, fmt: str) -> int:
    if fmt == "csv":
        return int(record.split(b",", 1)[0])
    return int(json.loads(record)["_cursor"])
