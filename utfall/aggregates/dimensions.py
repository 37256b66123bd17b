"""SQL pieces the maintained counts and the comparisons share: the calendar year and the
first day of the month of a date column (plain SQL on both databases, no per-row Python
callbacks on SQLite) and the age groups. ``utfall.comparisons`` re-exports them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, DateField, Func, IntegerField, Value, When


def month_date(value: Any) -> Any:
    """A month (or year) column's value as a date on both databases: SQLite gives its ISO text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


#: Age groups (label, lowest, highest age), read as the age in the counted row's year.
AGE_GROUPS = (
    ("0-12", 0, 12),
    ("13-15", 13, 15),
    ("16-17", 16, 17),
    ("18-24", 18, 24),
    ("25-44", 25, 44),
    ("45-64", 45, 64),
    ("65+", 65, 200),
)


class YearOf(Func):
    """The calendar year of a date column as an integer, in SQL on both databases (Django's
    ExtractYear on SQLite calls back into Python for every row). SQLite stores dates as
    ISO text, so the year is its first four characters."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(substr({sql}, 1, 4) AS INTEGER)", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(EXTRACT(YEAR FROM {sql}) AS integer)", params


class MonthOf(Func):
    """The first day of the month of a date column, in SQL on both databases."""

    output_field = DateField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, 'start of month')", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(date_trunc('month', {sql}) AS date)", params


def age_group(age: str) -> Case:
    """The age group by upper bounds only, in order (the first that holds wins)."""
    whens = [When(**{f"{age}__lt": AGE_GROUPS[0][1]}, then=Value("okänd"))]
    whens += [When(**{f"{age}__lte": high}, then=Value(label)) for label, _, high in AGE_GROUPS]
    return Case(*whens, default=Value("okänd"))
