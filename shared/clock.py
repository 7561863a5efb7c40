"""The node's clock: what "now" is for the business rules (due dates, expiry, staleness, the
time events carry).

By default it is the system clock. A node started with a clock file (`GOVSHARE_CLOCK_FILE`,
tests and drills only) runs its business time ahead of (or behind) the system by the number
of seconds written in that file; every process reads the same file, so writing it moves the
whole node's time at once. Token lifetimes, key rotation, retries and the outbox relay keep
the system clock: other parties and the broker live in real time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Business time is real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The system time plus the offset in seconds written in `path` (absent or empty: 0).

    The file is read again only when it changes (inode, mtime or size), so asking the time
    costs one stat; writers replace the file whole, so a half-written offset is never read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def offset(self) -> timedelta:
        try:
            stat = self.path.stat()
        except OSError:  # absent (or unreadable): real time
            self._seen, self._offset = None, timedelta(0)
            return self._offset
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._offset = _read_offset(self.path)
            self._seen = seen
        return self._offset


# A drill moves time by days or years, never by centuries: beyond this the offset is a typo.
MAX_OFFSET = timedelta(days=100 * 366)


def _read_offset(path: Path) -> timedelta:
    try:
        offset = timedelta(seconds=float(path.read_text().strip() or 0))
        if abs(offset) > MAX_OFFSET:
            raise ValueError(f"an offset of {offset} is beyond {MAX_OFFSET}")
        return offset
    except (OSError, ValueError, OverflowError) as error:
        # A drill's typo must not take the node down: real time, and say so.
        log.warning("cannot read the clock offset; using none",
                    extra={"clock_file": str(path), "error": repr(error)})
        return timedelta(0)


_clock: Clock = SystemClock()


def now() -> datetime:
    """The node's business time: use it for anything a rule dates or compares."""
    return _clock.now()


def install(clock: Clock) -> None:
    """Make `clock` the node's clock for this process."""
    global _clock
    _clock = clock


def install_from(clock_file: Path | None) -> None:
    """The system clock, or with `clock_file` an offset clock (warned about: never in
    production, where deadlines and grants must follow real time)."""
    if clock_file is None:
        install(SystemClock())
        return
    log.warning("business time follows the offset in the clock file: tests and drills only",
                extra={"clock_file": str(clock_file)})
    install(OffsetClock(clock_file))
