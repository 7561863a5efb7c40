"""The node's clock: real time, or real time plus the offset a clock file holds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared import clock


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    clock.install(clock.SystemClock())


def write(path: Path, text: str) -> None:
    written = path.with_suffix(".tmp")
    written.write_text(text)
    os.replace(written, path)


def test_an_absent_or_empty_file_is_no_offset(tmp_path: Path) -> None:
    moved = clock.OffsetClock(tmp_path / "clock")
    assert moved.offset() == timedelta(0)
    write(moved.path, "")
    assert moved.offset() == timedelta(0)


def test_the_offset_follows_the_file_as_it_is_rewritten(tmp_path: Path) -> None:
    moved = clock.OffsetClock(tmp_path / "clock")
    write(moved.path, "86400")
    assert moved.offset() == timedelta(days=1)
    assert moved.now() - datetime.now(UTC) > timedelta(hours=23)
    write(moved.path, "-3600.5")
    assert moved.offset() == timedelta(hours=-1, seconds=-0.5)
    moved.path.unlink()
    assert moved.offset() == timedelta(0)


def test_an_unreadable_offset_is_none_rather_than_an_error(tmp_path: Path) -> None:
    moved = clock.OffsetClock(tmp_path / "clock")
    write(moved.path, "two days")
    assert moved.offset() == timedelta(0)


def test_the_installed_clock_answers_now(tmp_path: Path, restored: None) -> None:
    write(tmp_path / "clock", str(timedelta(days=30).total_seconds()))
    clock.install_from(tmp_path / "clock")
    assert clock.now() - datetime.now(UTC) > timedelta(days=29)
    clock.install_from(None)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("written", ["inf", "1e20", "-3e11", "nan", "两天"])
def test_an_offset_no_drill_means_leaves_real_time(tmp_path: Path, written: str) -> None:
    clock_file = tmp_path / "clock"
    clock_file.write_text(written)
    assert abs(clock.OffsetClock(clock_file).now() - datetime.now(UTC)) < timedelta(seconds=5)
