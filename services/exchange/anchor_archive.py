"""Where a node with no parent (the national node) anchors its audit heads (E5): a file of
its own outside the database, only ever appended to, each line chained to the one before.

One JSON object a line: the head (node, position, hash, sealed_at), when it was archived,
`prev` (the line hash before it) and `line` = sha256(prev + the line's canonical JSON). A
line edited, removed or inserted breaks the chain of lines from there, so a rewrite of the
database that also rewrites this file must rewrite it whole; which is why it belongs on
WORM or separate storage that the database's administrators cannot write (operations.md).
Blocking file work: call it from a thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shared.contracts.anchoring import SealedHead

GENESIS = "0" * 64
TAIL_BYTES = 4096  # more than one line: the last line is found within it


class ArchiveBroken(Exception):
    """A line of the archive does not follow from the one before (it was edited)."""


class ArchiveConflict(Exception):
    """The archive holds another hash for a position being anchored (a rewrite)."""


@dataclass(frozen=True)
class ArchivedHead:
    position: int
    hash: str
    line_hash: str


class AnchorArchive:
    def __init__(self, path: Path, node: str) -> None:
        self.path, self.node = path, node

    def append(self, heads: Sequence[SealedHead]) -> list[str]:
        """Archive the heads in order; the line hash of each. A head archived already with
        the same hash (a crash after writing, before the database recorded it) is not
        written again; with another hash, ArchiveConflict."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # replicas on one host; others take turns by lock
            last_position, prev = _last_line(file)
            held = _held(file) if heads and heads[0].position <= last_position else {}
            line_hashes = []
            for head in heads:
                archived = held.get(head.position)
                if archived is not None:
                    if archived.hash != head.hash:
                        raise ArchiveConflict(
                            f"the archive holds another hash for position {head.position}")
                    line_hashes.append(archived.line_hash)
                    continue
                line = {"node": self.node, "position": head.position, "hash": head.hash,
                        "sealed_at": head.sealed_at.astimezone(UTC).isoformat(),
                        "archived_at": datetime.now(UTC).isoformat(), "prev": prev}
                prev = line["line"] = _line_hash(line)
                file.write(_canonical(line).encode() + b"\n")
                line_hashes.append(prev)
            file.flush()
            os.fsync(file.fileno())
        return line_hashes

    def heads(self) -> dict[int, ArchivedHead]:
        """Every archived head by position, the chain of lines checked (ArchiveBroken)."""
        try:
            with open(self.path, "rb") as file:
                return _held(file, check=True)
        except FileNotFoundError:
            return {}


def _held(file: IO[bytes], *, check: bool = False) -> dict[int, ArchivedHead]:
    held: dict[int, ArchivedHead] = {}
    prev = GENESIS
    for number, line in enumerate(_lines(file), 1):
        if check and (line.get("prev") != prev or line.get("line") != _line_hash(line)):
            raise ArchiveBroken(f"line {number} does not follow from the line before it")
        prev = str(line.get("line"))
        held[int(line["position"])] = ArchivedHead(int(line["position"]), str(line["hash"]),
                                                   prev)
    return held


def _lines(file: IO[bytes]) -> Iterator[dict[str, Any]]:
    file.seek(0)
    for number, raw in enumerate(file, 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise ArchiveBroken(f"line {number} is not JSON") from None
        if not isinstance(line, dict) or "position" not in line or "hash" not in line:
            raise ArchiveBroken(f"line {number} is not an archived head")
        yield line


def _last_line(file: IO[bytes]) -> tuple[int, str]:
    """The position and line hash the next line follows (none yet: 0 and GENESIS)."""
    size = file.seek(0, os.SEEK_END)
    if size == 0:
        return 0, GENESIS
    file.seek(max(0, size - TAIL_BYTES))
    tail = [raw for raw in file.read().splitlines() if raw.strip()]
    if not tail:
        return 0, GENESIS
    line = json.loads(tail[-1])
    return int(line["position"]), str(line["line"])


def _line_hash(line: dict[str, Any]) -> str:
    body = {key: value for key, value in line.items() if key != "line"}
    return hashlib.sha256((str(line.get("prev")) + _canonical(body)).encode()).hexdigest()


def _canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
