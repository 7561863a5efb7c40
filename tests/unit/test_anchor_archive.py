"""The anchor archive of a node with no parent (E5): appended to, each line chained to the
one before, so an edited line and a rewritten head show."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.exchange.anchor_archive import AnchorArchive, ArchiveBroken, ArchiveConflict
from shared.contracts.anchoring import SealedHead

SEALED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def head(position: int, digit: str = "a") -> SealedHead:
    return SealedHead(position=position, hash=digit * 64, sealed_at=SEALED_AT)


def test_heads_are_archived_once_each_in_a_chain_of_lines(tmp_path: Path) -> None:
    archive = AnchorArchive(tmp_path / "anchor" / "100000-external.jsonl", "100000-external")
    first = archive.append([head(3), head(7, "b")])
    again = archive.append([head(7, "b"), head(9, "c")])  # 7 again: a crash before recording
    assert again[0] == first[1]
    assert {p: h.hash for p, h in archive.heads().items()} == {
        3: "a" * 64, 7: "b" * 64, 9: "c" * 64}
    assert len(archive.path.read_text().splitlines()) == 3


def test_another_hash_for_an_archived_position_is_refused(tmp_path: Path) -> None:
    archive = AnchorArchive(tmp_path / "anchor.jsonl", "100000-external")
    archive.append([head(3)])
    with pytest.raises(ArchiveConflict):
        archive.append([head(3, "d")])
    assert archive.heads()[3].hash == "a" * 64


def test_an_edited_line_breaks_the_archive(tmp_path: Path) -> None:
    archive = AnchorArchive(tmp_path / "anchor.jsonl", "100000-external")
    archive.append([head(3), head(7, "b"), head(9, "c")])
    lines = archive.path.read_text().splitlines()
    edited = json.loads(lines[1]) | {"hash": "e" * 64}
    archive.path.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    with pytest.raises(ArchiveBroken, match="line 2"):
        archive.heads()
