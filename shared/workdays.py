"""Working days after the State Council holiday schedule, adjusted workdays (调休) included.

Deadlines in the rules count working days: 15 to update a catalog after a change (C6), 10 to
answer a conditional request (A2). `chinesecalendar` knows the published schedules up to its
last release; the competent authority loads a later year's schedule once the State Council
publishes it (usually in November). For a year with neither, the calendar falls back to
Monday–Friday and says so (`basis`), so a deadline is always computed, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

CHINA_TIME = ZoneInfo("Asia/Shanghai")


def china_date(moment: datetime) -> date:
    """The calendar day in China at `moment`: working days and deadlines are counted in it."""
    return moment.astimezone(CHINA_TIME).date()


def end_of_day(day: date) -> datetime:
    """The moment `day` ends in China (midnight at the start of the next day)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=CHINA_TIME)


class ScheduleRecord(Protocol):
    """A stored schedule: any row with these attributes."""

    year: int
    holidays: list[date]
    adjusted_workdays: list[date]


class Basis(StrEnum):
    """Where a day's status came from."""

    loaded = "loaded"
    library = "library"
    weekday_fallback = "weekday_fallback"


@dataclass(frozen=True)
class HolidaySchedule:
    """One year's published schedule: days off on weekdays and working weekend days."""

    year: int
    holidays: frozenset[date] = field(default_factory=frozenset)
    adjusted_workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        strays = [d for d in self.holidays | self.adjusted_workdays if d.year != self.year]
        if strays:
            raise ValueError(f"dates outside {self.year}: {sorted(strays)}")
        if self.holidays & self.adjusted_workdays:
            raise ValueError("a day cannot be both a holiday and an adjusted workday")


class WorkdayCalendar:
    """Answers whether a day is a working day, and where deadlines fall."""

    def __init__(self, loaded: Iterable[HolidaySchedule] = ()) -> None:
        self._loaded: Mapping[int, HolidaySchedule] = {s.year: s for s in loaded}

    @classmethod
    def from_records(cls, records: Iterable[ScheduleRecord]) -> WorkdayCalendar:
        """The calendar with every stored schedule."""
        return cls(HolidaySchedule(year=r.year, holidays=frozenset(r.holidays),
                                   adjusted_workdays=frozenset(r.adjusted_workdays))
                   for r in records)

    def basis(self, day: date) -> Basis:
        """Which source decides `day`: a loaded schedule, the library, or the fallback."""
        if day.year in self._loaded:
            return Basis.loaded
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return Basis.weekday_fallback
        return Basis.library

    def is_workday(self, day: date) -> bool:
        schedule = self._loaded.get(day.year)
        if schedule is not None:
            if day in schedule.adjusted_workdays:
                return True
            return day.weekday() < 5 and day not in schedule.holidays
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def add_workdays(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (the start day itself never counts)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        days, day = 0, start
        while day < end:
            day += timedelta(days=1)
            days += self.is_workday(day)
        return days

    def deadline_basis(self, start: date, count: int) -> set[Basis]:
        """The sources consulted for a deadline: shown beside it so a fallback is visible."""
        end = self.add_workdays(start, count)
        return {self.basis(start + timedelta(days=i)) for i in range((end - start).days + 1)}
