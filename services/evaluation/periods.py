"""Evaluation periods: a year (`2026`), a quarter (`2026-Q3`) or a month (`2026-07`), each a
run of China Standard Time days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.workdays import CHINA_TIME

# Years 2000–2099: the platform evaluates its own records, none of which is older (and a
# year 0000 or 9999 would break the date arithmetic of the period's bounds).
PERIOD_PATTERN = r"^20[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


@dataclass(frozen=True)
class Period:
    label: str
    first_day: date
    last_day: date

    @classmethod
    def parse(cls, label: str) -> Period:
        if not re.match(PERIOD_PATTERN, label):
            raise ValueError("a period reads YYYY, YYYY-Qn or YYYY-MM")
        year = int(label[:4])
        if len(label) == 4:
            return cls(label, date(year, 1, 1), date(year, 12, 31))
        if label[5] == "Q":
            quarter = int(label[6])
            return cls(label, date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
        month = int(label[5:])
        return cls(label, date(year, month, 1), _month_end(year, month))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls.parse(f"{year:04d}")

    @property
    def start(self) -> datetime:
        """First instant of the period, China Standard Time."""
        return datetime.combine(self.first_day, datetime.min.time(), CHINA_TIME)

    @property
    def end(self) -> datetime:
        """First instant after the period."""
        return self.start + timedelta(days=(self.last_day - self.first_day).days + 1)

    def quarters(self) -> list[Period]:
        """The quarters of a year period (for trends)."""
        return [Period.parse(f"{self.label[:4]}-Q{quarter}") for quarter in range(1, 5)]


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
