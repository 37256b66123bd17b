"""Periods of the deviation proposals: a year (``2025``) or a half-year (``2025H1``, ``2025H2``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

PATTERN = re.compile(r"^(\d{4})(?:H([12]))?$")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    year: int
    half: int | None = None

    @classmethod
    def parse(cls, text: str) -> Period:
        match = PATTERN.match((text or "").strip().upper())
        if not match:
            raise BadPeriod(
                f"'{text}' är ingen period: skriv ett år (2025) eller ett halvår (2025H1, 2025H2)"
            )
        year = int(match.group(1))
        if not 2000 <= year <= 2100:
            raise BadPeriod(f"året {year} ligger utanför 2000–2100")
        return cls(year, int(match.group(2)) if match.group(2) else None)

    @property
    def label(self) -> str:
        return str(self.year) if self.half is None else f"{self.year}H{self.half}"

    @property
    def date_from(self) -> dt.date:
        return dt.date(self.year, 7 if self.half == 2 else 1, 1)

    @property
    def date_to(self) -> dt.date:
        return dt.date(self.year, 6, 30) if self.half == 1 else dt.date(self.year, 12, 31)

    def previous(self) -> Period:
        if self.half is None:
            return Period(self.year - 1)
        return Period(self.year, 1) if self.half == 2 else Period(self.year - 1, 2)

    def __str__(self) -> str:
        return self.label if self.half is None else f"{self.year} halvår {self.half}"
