"""A unit manager's partitions along the unit over a run of years and its years, made from the
rows by ids (disclosure._hidden_along_periods, 2026-12-06): the same hidden cells as the general
way through the codes (each period's cells sorted by their codes as text, then partitioned), on
random counts whose codes are in another order than their ids, and the general way where the
codes are not one to one."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from utfall.comparisons.disclosure import (
    _hidden_along_periods,
    _hidden_along_periods_by_codes,
    _hidden_along_years,
)
from utfall.comparisons.queries import SizeRows, YearSizes

YEARS = {dt.date(2024, 1, 1): "2024", dt.date(2025, 1, 1): "2025"}
#: A table by month read for years: each year's groups in up to 12 rows, and a year after the run
#: (2026) whose rows are no year of it.
MONTHS = {dt.date(y, m, 1): str(y) for y in (2024, 2025, 2026) for m in range(1, 13)}


def rows(
    seed: int, providers: dict[int, str], units: dict[int | None, str | None], *, as_text: bool,
    monthly: bool = False,
) -> SizeRows:  # fmt: skip
    """(provider id, unit id, year or month, n), ordered by the ids and the period as the query
    orders them; sizes from 1 to ~60 so that partitions have small cells, secondary ones and none."""
    rng = random.Random(seed)
    label = MONTHS if monthly else YEARS
    out = []
    for provider in sorted(providers):
        for unit in sorted(units, key=lambda u: (u is not None, u or 0)):  # NULL first, as SQLite
            for month in label:
                if rng.random() < (0.2 if monthly else 0.8):
                    out.append((provider, unit, month.isoformat() if as_text else month,
                                rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 20, 60])))  # fmt: skip
    return SizeRows(out, [providers.get, units.get], label)


def coded(rng: random.Random, n: int, prefix: str) -> dict[int, str]:
    """n ids whose codes sort in another order than the ids."""
    codes = [f"{prefix}{i:03d}" for i in range(n)]
    rng.shuffle(codes)
    return dict(zip(range(1, n + 1), codes, strict=True))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("min_n", [5, 10])
def test_the_partitions_from_the_ids_hide_what_the_codes_hide(seed: int, min_n: int) -> None:
    rng = random.Random(seed)
    providers = coded(rng, 40, "P")
    units: dict[int | None, str | None] = {**coded(rng, 9, "U"), None: None}  # a row without a unit
    for monthly in (False, True):
        found = rows(seed, providers, units, as_text=seed % 2 == 0, monthly=monthly)
        fast = _hidden_along_periods(found, ["2024", "2025"], 1, min_n)
        general = _hidden_along_periods_by_codes(found, ["2024", "2025"], 1, min_n)
        assert fast == general, monthly
        assert all(fast), "every period has hidden cells (run, 2024, 2025)"
        assert any(len(gone) > 1 for period in fast for gone in period.values()), "and secondary ones"
        assert fast[0] != fast[1] != fast[2], "a run's cells are its years' sums"
    found = rows(seed, providers, units, as_text=seed % 2 == 0)
    # One partition of all providers (a comparison of providers with no other dimension).
    alone = SizeRows(
        [(p, year, n) for p, _, year, n in found.rows if _ is None], found.lookups[:1], found.label
    )
    assert _hidden_along_periods(alone, ["2024", "2025"], 0, min_n) == _hidden_along_periods_by_codes(
        alone, ["2024", "2025"], 0, min_n
    )


def test_codes_not_one_to_one_go_the_general_way() -> None:
    providers = {1: "P1", 2: "P2"}
    for units in ({1: "U1", 2: "None", None: None}, {1: "U1", 2: "", None: None}, {1: "U1", 2: "U1"}):
        found = rows(3, providers, units, as_text=True)
        assert _hidden_along_periods(found, ["2024", "2025"], 1, 5) is None, units
        assert len(_hidden_along_periods_by_codes(found, ["2024", "2025"], 1, 5)) == 3


@pytest.mark.parametrize("seed", range(8))
def test_the_periods_without_the_run_hide_what_they_hide_with_it(seed: int) -> None:
    """prefetch_hidden's quarters of all providers without the run's sum (``with_run=False``,
    2026-12-06, prov7): each period's hidden cells as with the run, the run's left empty."""
    rng = random.Random(seed)
    providers = coded(rng, 40, "P")
    quarters = {dt.date(y, m, 1): f"{y}-K{(m - 1) // 3 + 1}" for y in (2024, 2025) for m in range(1, 13)}
    labels = sorted(set(quarters.values()))
    out = [
        (provider, month.isoformat() if seed % 2 else month, rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 20, 60]))
        for provider in sorted(providers)
        for month in quarters
        if rng.random() < 0.4
    ]
    found = SizeRows(out, [providers.get], quarters)
    for min_n in (5, 10):
        whole = _hidden_along_periods(found, labels, 0, min_n)
        alone = _hidden_along_periods(found, labels, 0, min_n, with_run=False)
        assert whole is not None and alone is not None
        assert alone == [{}, *whole[1:]]
        assert any(whole[1:]), "some quarters hide cells"
    empty = SizeRows([], [providers.get], quarters)
    assert _hidden_along_periods(empty, labels, 0, 5, with_run=False) == [{} for _ in range(len(labels) + 1)]


def year_columns(seed: int, providers: dict[int, str], units: dict[int, str]) -> YearSizes:
    """Two years' rows of the folded rollup as columns (provider ids, unit ids, n), unordered, a
    cell sometimes in two rows (two question ids) and sometimes with n 0 (a row left at 0 by
    deltas: no cell unless its year's sum is above 0)."""
    rng = random.Random(seed)
    years = []
    for _year in range(2):
        found = []
        for provider in providers:
            for unit in units:
                if rng.random() < 0.8:
                    for _ in range(rng.choice((1, 1, 2))):
                        found.append((provider, unit, rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 60])))
        rng.shuffle(found)
        years.append([np.array([row[i] for row in found], dtype=np.int64) for i in range(3)])
    return YearSizes(years, [providers.get, units.get])


def as_size_rows(columns: YearSizes) -> SizeRows:
    """The same rows as the grouped read gives them: summed by provider, unit and year, kept where
    above 0, ordered by the ids and the year."""
    summed: dict[tuple[int, int, dt.date], int] = {}
    for year, (providers, units, sizes) in zip(YEARS, columns.years, strict=True):
        for provider, unit, n in zip(providers.tolist(), units.tolist(), sizes.tolist(), strict=True):
            summed[(provider, unit, year)] = summed.get((provider, unit, year), 0) + n
    return SizeRows([(*key, n) for key, n in sorted(summed.items()) if n > 0], columns.lookups, YEARS)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("min_n", [5, 10])
def test_the_partitions_from_the_years_columns_hide_what_the_grouped_rows_hide(seed: int, min_n: int) -> None:
    """disclosure._hidden_along_years (a question's years as columns, summed in numpy, 2026-12-07,
    oe9): the run's and each year's hidden cells as the grouped rows' (the ids' way and the codes'
    way), on random counts whose codes are in another order than their ids."""
    rng = random.Random(seed)
    providers, units = coded(rng, 40, "P"), coded(rng, 9, "U")
    columns = year_columns(seed, providers, units)
    fast = _hidden_along_years(columns, 1, min_n)
    found = as_size_rows(columns)
    assert fast == _hidden_along_periods(found, ["2024", "2025"], 1, min_n)
    assert fast == _hidden_along_periods_by_codes(found, ["2024", "2025"], 1, min_n)
    assert fast is not None and all(fast), "every period has hidden cells (run, 2024, 2025)"
    assert any(len(gone) > 1 for period in fast for gone in period.values()), "and secondary ones"
    # Split along the provider within each unit (the first dimension the unit's).
    swapped = YearSizes([[u, p, n] for p, u, n in columns.years], [units.get, providers.get])
    flipped = SizeRows(sorted((u, p, y, n) for p, u, y, n in found.rows), swapped.lookups, YEARS)
    assert _hidden_along_years(swapped, 1, min_n) == _hidden_along_periods_by_codes(
        flipped, ["2024", "2025"], 1, min_n
    )


def test_the_years_columns_with_codes_not_one_to_one_or_empty() -> None:
    providers = {1: "P1", 2: "P2"}
    for units in ({1: "U1", 2: "U1"}, {1: "U1", 2: "", 3: "U3"}):
        columns = year_columns(3, providers, units)
        if "" in units.values():  # "" and an unknown id (None: 3) sort the same: not one to one
            columns = YearSizes(columns.years, [providers.get, {1: "U1", 2: ""}.get])
        assert _hidden_along_years(columns, 1, 5) is None, units
    empty = YearSizes([[np.zeros(0, dtype=np.int64)] * 3] * 2, [providers.get, {1: "U1"}.get])
    assert _hidden_along_years(empty, 1, 5) == [{}, {}, {}]
