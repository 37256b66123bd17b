"""SQL building blocks of the counts, the same on SQLite and PostgreSQL: date arithmetic and
years without per-row Python callbacks, calendar periods, age groups, and where each
grouping dimension is read. ``queries`` builds the indicator counts from them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db.models import Case, DateField, Func, Value, When

from utfall.aggregates.dimensions import MonthOf, YearOf, age_group

__all__ = [
    "PERIODS",
    "AddDays",
    "MonthOf",
    "YearOf",
    "age_group",
    "dimension_paths",
    "period_case",
    "periods",
]

#: Period grains for trends: a follow-up counts in the period of its date, an ended
#: intervention in the period of its end (spec). Labels are "2025" and "2025-K2".
PERIODS = ("quarter", "year")


class AddDays(Func):
    """date + whole days in SQL on both databases (Django's date arithmetic on SQLite calls
    back into Python for every row)."""

    output_field = DateField()

    def __init__(self, expression: str, days: int) -> None:
        super().__init__(expression, Value(days))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        days = cast(Value, self.source_expressions[1])  # the Value(days) of __init__
        return f"date({sql}, '+' || %s || ' days')", [*params, days.value]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        days = cast(Value, self.source_expressions[1])  # the Value(days) of __init__
        return f"({sql} + %s::integer)", [*params, days.value]


def dimension_paths(prefix: str, on_answer: bool = False) -> dict[str, str]:
    """Where each dimension is read, through ``prefix`` to the intervention. An answer carries
    copies of its intervention's and client's facts (Answer's FACTS): for answers the prefix
    is empty and the client's sex is the answer's own ``client_sex`` (``on_answer``), which
    spares three joins per answer."""
    return {
        "provider": f"{prefix}provider__provider_id",
        "service": f"{prefix}service__code",
        "unit": f"{prefix}unit__code",
        "sex": "client_sex" if on_answer else f"{prefix}client__sex",
        "target_group": f"{prefix}service__target_group",
        # Answers carry no copy of the contract: read through the follow-up.
        "contract": "followup__intervention__contract__contract_id"
        if on_answer
        else f"{prefix}contract__contract_id",
    }


def periods(grain: str, date_from: dt.date, date_to: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Every calendar quarter or year (label, first day, last day) that overlaps the range, in
    order; the first and last are cut to the range."""
    out: list[tuple[str, dt.date, dt.date]] = []
    year, quarter = date_from.year, (date_from.month - 1) // 3 + 1
    while True:
        if grain == "year":
            start, end, label = dt.date(year, 1, 1), dt.date(year, 12, 31), str(year)
        else:
            start = dt.date(year, 3 * quarter - 2, 1)
            end = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - dt.timedelta(days=1)
            label = f"{year}-K{quarter}"
        if start > date_to:
            return out
        out.append((label, max(start, date_from), min(end, date_to)))
        if grain == "year":
            year += 1
        else:
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def period_case(date: str, grain: str, date_from: dt.date, date_to: dt.date) -> Case:
    """The period label of each row by plain date comparisons (no per-row date functions,
    which SQLite runs as Python callbacks): within the range, a binary search over the periods'
    last days, ~2 + log₂ k comparisons a row instead of up to 2k (2026-12-03: the flat CASE
    cost SQLite ~1 µs a row over three years of quarters, more than the rest of a trend's read)."""

    def pick(spans: list[tuple[str, dt.date, dt.date]]) -> Any:
        if len(spans) == 1:
            return Value(spans[0][0])
        middle = len(spans) // 2
        return Case(When(**{f"{date}__lte": spans[middle - 1][2]}, then=pick(spans[:middle])),
                    default=pick(spans[middle:]))  # fmt: skip

    spans = periods(grain, date_from, date_to)
    if not spans:
        return Case(default=Value(""))
    return Case(
        When(**{f"{date}__gte": date_from, f"{date}__lte": date_to}, then=pick(spans)), default=Value("")
    )
