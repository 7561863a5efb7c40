"""Working days after the State Council schedule (C6's 15 days, A2's 10 days)."""

from __future__ import annotations

from datetime import date

import pytest

from shared.workdays import Basis, HolidaySchedule, WorkdayCalendar

calendar = WorkdayCalendar()


def test_national_day_week_is_not_counted() -> None:
    # 2026: 1–7 October off, Saturday 10 October an adjusted workday.
    assert not calendar.is_workday(date(2026, 10, 1))
    assert calendar.is_workday(date(2026, 10, 10))
    assert calendar.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_ten_working_days_from_a_friday_skip_two_weekends() -> None:
    assert calendar.add_workdays(date(2026, 11, 20), 10) == date(2026, 12, 4)


def test_an_adjusted_saturday_counts_as_a_working_day() -> None:
    # Sunday 4 January 2026 is a working day (调休).
    assert calendar.add_workdays(date(2026, 1, 3), 1) == date(2026, 1, 4)


def test_a_year_the_library_does_not_know_falls_back_to_weekdays() -> None:
    assert calendar.basis(date(2027, 1, 4)) is Basis.weekday_fallback
    assert calendar.add_workdays(date(2026, 12, 28), 10) == date(2027, 1, 11)
    assert Basis.weekday_fallback in calendar.deadline_basis(date(2026, 12, 28), 10)


def test_a_loaded_schedule_decides_its_year() -> None:
    schedule = HolidaySchedule(
        year=2027,
        holidays=frozenset({date(2027, 1, 1)} | {date(2027, 2, d) for d in range(5, 12)}),
        adjusted_workdays=frozenset({date(2027, 2, 13)}),
    )
    loaded = WorkdayCalendar([schedule])
    assert loaded.basis(date(2027, 2, 8)) is Basis.loaded
    assert not loaded.is_workday(date(2027, 2, 8))
    assert loaded.is_workday(date(2027, 2, 13))
    # Filed on 31 December 2026: 1 January 2027 is a loaded holiday, so day 1 is 4 January.
    assert loaded.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_a_schedule_with_dates_of_another_year_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 2027"):
        HolidaySchedule(year=2027, holidays=frozenset({date(2026, 12, 31)}))


def test_workdays_between_counts_after_the_start() -> None:
    assert calendar.workdays_between(date(2026, 11, 20), date(2026, 12, 4)) == 10
    assert calendar.workdays_between(date(2026, 12, 4), date(2026, 11, 20)) == 0
