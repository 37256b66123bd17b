"""Provider comparisons: the API the Django side calls.

``compare_proportions`` and ``compare_ratios`` return a :class:`Comparison` whose rows
have fixed keys (:data:`PROPORTION_ROW_KEYS`, :data:`RATIO_ROW_KEYS`) and have already
been through :func:`utfall.stats.suppression.suppress`. ``to_json_dict`` gives the
"Comparison output" shape of spec/interchange-v1.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion import DEFAULT_METHOD, fit_overdispersion
from utfall.stats.overdispersion.limits import OverdispersionFit
from utfall.stats.proportions import wilson_interval
from utfall.stats.standardisation import poisson_ratio_ci
from utfall.stats.suppression import DEFAULT_MIN_N, hidden_rows, suppress

__all__ = [
    "PROPORTION_ROW_KEYS",
    "RATIO_ROW_KEYS",
    "Comparison",
    "compare_proportions",
    "compare_ratios",
    "round_column",
]

PROPORTION_ROW_KEYS = (
    "group",
    "n",
    "events",
    "rate",
    "ci_low",
    "ci_high",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "flag",
    "suppressed",
)
RATIO_ROW_KEYS = (
    "group",
    "n",
    "observed",
    "expected",
    "ratio",
    "ci_low",
    "ci_high",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "flag",
    "suppressed",
)

_DECIMALS = {
    "rate": 4,
    "ratio": 4,
    "ci_low": 4,
    "ci_high": 4,
    "lower_95": 4,
    "upper_95": 4,
    "lower_998": 4,
    "upper_998": 4,
    "expected": 2,
}


@dataclass(frozen=True)
class Comparison:
    """Result of a comparison: target, what was done about overdispersion, and the rows."""

    target: float | None
    overdispersion: dict[str, Any]
    rows: list[dict[str, Any]]
    level: float = 0.95
    fit: OverdispersionFit | None = field(default=None, repr=False)

    def to_json_dict(self, indicator: str, from_: str, to: str, by: str) -> dict[str, Any]:
        """The JSON document of spec/interchange-v1.md "Comparison output".

        Rates, limits and intervals are rounded to 4 decimals, φ and τ² to 4 significant
        decimals; suppressed rows carry null in every count, rate and limit.
        """
        od = self.overdispersion
        return {
            "indicator": indicator,
            "from": from_,
            "to": to,
            "by": by,
            "target": _round(self.target, 4),
            "overdispersion": {
                "method": od["method"],
                "phi": _round(od["phi"], 4),
                "tau2": _round(od["tau2"], 4),
                "excluded": list(od["excluded"]),
            },
            "rows": _rounded_rows(self.rows),
        }


def _rounded_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``[{k: _round(v, _DECIMALS[k]) if k in _DECIMALS else v for k, v in row.items()} for row in
    rows]``, the same values in the same key order, a column at a time: a column of plain floats
    (or None) through :func:`round_column` (Python's ``round`` of 750 rows × 7 columns was ~4 ms
    of every comparison page and API answer, 2026-12-06, cmp6); any other column value by value."""
    out = [dict(row) for row in rows]
    for key, decimals in _DECIMALS.items():
        having = [row for row in out if key in row]
        values = [row[key] for row in having]
        # NaN is None in _round but NaN in round_column; a float subclass keeps its class in _round.
        if all(v is None or (v.__class__ is float and v == v) for v in values):
            for row, value in zip(having, round_column(values, decimals), strict=True):
                row[key] = value
        else:
            for row in having:
                row[key] = _round(row[key], decimals)
    return out


#: Below this |x|·10^decimals a product's rounding error (< 2⁻³²) cannot move it past the margin.
_ROUNDING_RANGE = 2.0**20
_ROUNDING_MARGIN = 1e-6


def round_column(values: Sequence[float | None], decimals: int = 4) -> list[float | None]:
    """``[None if v is None else round(float(v), decimals) for v in values]``, the same floats,
    from one array for the whole column: Python's ``round`` costs ~1 µs a value (a correctly
    rounded decimal conversion there and back; 5,250 values, ~5 ms, for a comparison's 750 rows).

    ``round(x, d)`` is the double nearest to k/10^d, k the integer nearest to the exact x·10^d
    (half to even). Where x·10^d is well inside (−2²⁰, 2²⁰) and its computed product is more than
    10⁻⁶ from a half-integer, the computed product rounds to the same k (its error is below
    2⁻³²), and k / 10^d, a correctly rounded division of two exact doubles, is that nearest
    double; every other value (ties, NaN, ±inf, huge) goes through ``round`` itself."""
    if not 0 <= decimals <= 22:  # 10^d is an exact double only for these
        return [None if v is None else round(float(v), decimals) for v in values]
    present = [i for i, v in enumerate(values) if v is not None]
    out: list[float | None] = [None] * len(values)
    if not present:
        return out
    x = np.array([float(values[i]) for i in present])  # type: ignore[arg-type]
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        product = x * scale
        whole = np.rint(product)
        fraction = np.abs(product - np.floor(product) - 0.5)
        plain = (np.abs(product) < _ROUNDING_RANGE) & (fraction > _ROUNDING_MARGIN)
        quick = (whole / scale).tolist()
    if len(present) == len(values) and plain.all():
        return quick  # type: ignore[no-any-return]
    plain_list = plain.tolist()
    for j, i in enumerate(present):
        out[i] = quick[j] if plain_list[j] else round(float(x[j]), decimals)
    return out


def _round(value: Any, decimals: int) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, decimals)
    return value


def _prepare(groups: Sequence[str], *arrays: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    if any(a.shape != (len(groups),) for a in out):
        raise ValueError("groups and every count array must have the same length")
    if len(set(groups)) != len(groups):
        raise ValueError("group names must be unique")
    return out


def compare_proportions(
    groups: Sequence[str],
    events: ArrayLike,
    n: ArrayLike,
    *,
    target: float | None = None,
    level: float = 0.95,
    overdispersion: str = DEFAULT_METHOD,
    min_n: int = DEFAULT_MIN_N,
    secondary: bool = True,
    reference: Comparison | None = None,
    hidden: Sequence[bool] | None = None,
    chart: bool = False,
    row_limits: bool = True,
) -> Comparison:
    """Compare groups' proportions with funnel limits that allow for overdispersion.

    Rows (keys :data:`PROPORTION_ROW_KEYS`): Wilson interval at ``level`` (default 95 %),
    funnel limits at the group's n at 95 % and 99.8 % after adjustment, ``flag`` = "low" /
    "high" outside the 99.8 % limits, then suppression (``min_n``, ``secondary``).
    Groups with n < ``min_n`` are left out of the target and the spread estimate (they
    carry almost no information and must not leak through the target). ``target`` fixes
    the centre; by default it is estimated (robust predictive mean, see
    :mod:`utfall.stats.overdispersion`). ``.overdispersion["excluded"]`` names the groups
    left out of the estimate as outliers.

    ``reference``: a comparison of the full population (issue 10.1). Its fitted funnel,
    target and spread are used instead of fitting on these groups, so a viewer who may see
    only part of the data (a provider, a unit) is judged against the same reference as
    everyone else; these rows are then suppressed among themselves, and a group hidden in the
    reference is hidden here too. Outliers are named only among these rows.

    Validated through its parts (see :func:`~utfall.stats.proportions.wilson_interval`,
    :func:`~utfall.stats.overdispersion.fit_overdispersion`,
    :func:`~utfall.stats.suppression.suppress`); end-to-end by tests of the JSON shape.

    ``hidden``: groups already hidden by the disclosure control of linked tables
    (:mod:`utfall.stats.disclosure`). They are suppressed and, like every group the
    suppression hides, left out of the target and spread: no published statistic is computed
    from a hidden cell (issue 10.6).

    ``chart``: these rows will be drawn as a funnel chart on a page that shows no row's 95 %
    limits (the comparison page: its table, chart and downloads show the 99.8 % limits and
    flags); the limits at the chart's sizes (:func:`~utfall.stats.funnels.chart_sizes` of the
    shown rows) are worked out with the rows' and kept with the fit (one search instead of
    two; the limits as :func:`_funnel` says), and the rows' ``lower_95``/``upper_95`` are left
    None (not searched: 2026-12-06, cmp7). Only a speed matter for what the page shows. With a
    ``reference`` the chart draws these rows against the reference's funnel (a unit manager's
    page): the rows shown in the end (:func:`shown_in_the_end`).

    ``row_limits=False``: no row's limits and no flag are searched (left None): a reference whose own
    rows a page does not show, read only for its fit, target, outliers and hidden groups (the unit
    manager's comparison page, 2026-12-06).
    """
    x, m = _prepare(groups, events, n)
    if np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise ValueError("counts must satisfy 0 <= events <= n")
    # Which rows the suppression below hides, from the sizes alone (the rule :func:`suppress` applies).
    if hidden and len(hidden) != len(groups):
        raise ValueError("groups and hidden must have the same length")
    flagged = [i for i, h in enumerate(hidden or ()) if h]
    shown_after = np.ones(len(groups), dtype=bool)
    shown_after[sorted(hidden_rows([int(v) for v in m.tolist()], min_n=min_n, flagged=flagged,
                                   secondary=secondary))] = False  # fmt: skip
    used = np.flatnonzero((m >= min_n) & shown_after)
    fit = reference.fit if reference is not None else None
    if reference is None and used.size:
        fit = fit_overdispersion(x[used], m[used], kind="proportion", method=overdispersion, target=target)
    ci_lo, ci_hi = wilson_interval(x, m, level)
    shown = m > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = x / m
    drawn = None
    if chart:  # the rows _finish leaves shown (with a reference: its hidden groups hidden too)
        there = reference.rows if reference is not None else ()
        drawn = shown & shown_in_the_end(m, shown_after, groups, there, min_n, secondary)
    limits = _funnel(fit if row_limits else None, x, m, shown, drawn=drawn)
    columns: dict[str, list[Any]] = {
        "group": list(groups),
        "n": [int(v) for v in m.tolist()],
        "events": _counts(x),
        "rate": _column(rate, shown),
        "ci_low": _column(ci_lo, shown),
        "ci_high": _column(ci_hi, shown),
        **limits,
    }
    rows = _proportion_rows(columns)
    for i in np.flatnonzero(~shown_after).tolist():  # the rows are new: marked in place
        rows[i]["suppressed"] = True
    return _finish(fit, used, groups, rows, level, min_n, secondary, reference)


def compare_ratios(
    groups: Sequence[str],
    observed: ArrayLike,
    expected: ArrayLike,
    n: ArrayLike,
    *,
    target: float | None = None,
    level: float = 0.95,
    overdispersion: str = DEFAULT_METHOD,
    min_n: int = DEFAULT_MIN_N,
    secondary: bool = True,
    reference: Comparison | None = None,
) -> Comparison:
    """Compare case-mix adjusted O/E ratios (``expected`` from
    :mod:`utfall.stats.standardisation`) with funnel limits against E.

    Rows (keys :data:`RATIO_ROW_KEYS`): O/E with exact (O < 10) / Byar's interval at
    ``level``; 95 % and 99.8 % limits at the group's E after the same robust
    random-effects adjustment as proportions, on the log scale (Poisson–lognormal); flag;
    suppression on ``n`` (the number of individuals behind the row). ``reference`` as in
    :func:`compare_proportions`.

    Validated through :func:`~utfall.stats.standardisation.poisson_ratio_ci`
    (``reference/isr_phe_expected.csv``) and
    :func:`~utfall.stats.overdispersion.fit_overdispersion`.
    """
    o, e, m = _prepare(groups, observed, expected, n)
    if np.any(o < 0) or np.any(e < 0) or np.any(m < 0):
        raise ValueError("observed, expected and n must be non-negative")
    used = np.flatnonzero((m >= min_n) & (e > 0))
    fit = reference.fit if reference is not None else None
    if reference is None and used.size:
        fit = fit_overdispersion(o[used], e[used], kind="ratio", method=overdispersion, target=target)
    ci = poisson_ratio_ci(o, e, level=level)
    shown = e > 0
    limits = _funnel(fit, o, e, shown)
    columns: dict[str, list[Any]] = {
        "group": list(groups),
        "n": [int(v) for v in m.tolist()],
        "observed": _counts(o),
        "expected": _column(e, np.ones(e.shape, dtype=bool)),
        "ratio": _column(ci["ratio"].to_numpy(dtype=np.float64), shown),
        "ci_low": _column(ci["lower"].to_numpy(dtype=np.float64), shown),
        "ci_high": _column(ci["upper"].to_numpy(dtype=np.float64), shown),
        **limits,
    }
    rows = _rows(RATIO_ROW_KEYS, columns, len(groups))
    return _finish(fit, used, groups, rows, level, min_n, secondary, reference)


def _counts(a: np.ndarray) -> list[int | float]:
    """Counts as int when whole (as the rows have always carried them), else float."""
    return [int(v) if v == int(v) else v for v in a.tolist()]


def _column(a: np.ndarray, shown: np.ndarray) -> list[float | None]:
    """Plain floats; None where not shown or NaN."""
    if a.shape != shown.shape:
        raise ValueError("a column and its shown flags must have the same length")
    values = a.tolist()
    keep = shown & ~np.isnan(a)
    if keep.all():
        return values  # type: ignore[no-any-return]
    return [v if k else None for v, k in zip(values, keep.tolist(), strict=True)]


def _funnel(
    fit: OverdispersionFit | None,
    events: np.ndarray,
    size: np.ndarray,
    shown: np.ndarray,
    drawn: np.ndarray | None = None,
) -> dict[str, list[Any]]:
    """Limit and flag columns for every group at once (limits are worked out once per size).

    Flags compare events/size with the 99.8 % limits, as :meth:`OverdispersionFit.flags`.
    ``drawn`` (proportions): the groups a funnel chart draws; the limits at the chart's sizes
    (:func:`~utfall.stats.funnels.chart_sizes`) are worked out in the same search as the rows'
    and kept with the fit, so the chart finds them (a second search for its few new sizes cost
    nearly as much as the first; 2.8 % of a cold 750-provider page's instructions). Each size's
    walk is its own: its limits are those of a search of their own to a bit or two of the last
    place (a matrix-vector product rounds by a row's place in the batch), equal at 4 decimals.
    With ``drawn`` the rows' 95 % limits are left None and 95 % is searched at the chart's
    sizes only (:meth:`~utfall.stats.overdispersion.limits.OverdispersionFit.prepare_levels`):
    about 40 % fewer rows in the search for 750 providers (2026-12-06, cmp7; the chart, the
    flags and the 99.8 % limits the same at the 4 decimals shown, tests/stats/test_chart_levels.py).
    """
    keys = ("lower_95", "upper_95", "lower_998", "upper_998", "flag")
    out: dict[str, list[Any]] = {key: [None] * size.size for key in keys}
    idx = np.flatnonzero(shown)
    if fit is None or not idx.size:
        return out
    sizes = size[idx]
    if drawn is not None and drawn.any():
        grid = chart_sizes(size[drawn], whole=True)
        # 95 % at the chart's sizes only: the page shows no row's 95 % limits (left None).
        fit.prepare_levels({0.95: grid, 0.998: np.concatenate([sizes, grid])})
        lo95 = hi95 = np.full(idx.size, np.nan)
    else:
        fit.prepare(sizes, (0.95, 0.998))  # both levels in one search
        lo95, hi95 = fit.limits(size[idx], 0.95)
    lo998, hi998 = fit.limits(size[idx], 0.998)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = events[idx] / size[idx]
    flag = np.full(idx.size, None, dtype=object)
    flag[value > hi998] = "high"
    flag[value < lo998] = "low"
    everywhere = np.ones(idx.size, dtype=bool)
    columns = (*(_column(col, everywhere) for col in (lo95, hi95, lo998, hi998)), flag.tolist())
    if idx.size == size.size:  # every group shown: the columns are the rows' own
        return dict(zip(keys, columns, strict=True))
    for key, column in zip(keys, columns, strict=True):
        for i, v in zip(idx.tolist(), column, strict=True):
            out[key][i] = v
    return out


def _proportion_rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """``_rows(PROPORTION_ROW_KEYS, columns, k)`` written out: a dict display with the keys in
    their order builds a row about twice as fast as ``dict(zip(keys, values))`` (750 rows a
    comparison). ``suppressed`` is None until the suppression sets it, as there."""
    c = columns
    return [
        {"group": g, "n": n, "events": e, "rate": r, "ci_low": a, "ci_high": b, "lower_95": lo95,
         "upper_95": hi95, "lower_998": lo998, "upper_998": hi998, "flag": f, "suppressed": None}
        for g, n, e, r, a, b, lo95, hi95, lo998, hi998, f in zip(
            c["group"], c["n"], c["events"], c["rate"], c["ci_low"], c["ci_high"], c["lower_95"],
            c["upper_95"], c["lower_998"], c["upper_998"], c["flag"], strict=True)
    ]  # fmt: skip


def _rows(keys: tuple[str, ...], columns: dict[str, list[Any]], k: int) -> list[dict[str, Any]]:
    cols = [columns.get(key, [None] * k) for key in keys]
    return [dict(zip(keys, values, strict=True)) for values in zip(*cols, strict=True)]


def shown_in_the_end(
    sizes: np.ndarray,
    shown: np.ndarray,
    groups: Sequence[str],
    reference_rows: Sequence[Mapping[str, Any]],
    min_n: int,
    secondary: bool,
) -> np.ndarray:
    """The rows a partial view shows once the groups its reference hides are hidden too and the
    suppression runs again (as :func:`_finish` and ``compare_adjusted`` do): ``shown`` are the rows
    the view's own suppression left, ``sizes`` their n. A group the reference hides can take
    another row with it (the secondary rule), so the chart's points are these, not ``shown``
    less the reference's hidden groups (2026-12-06). Without a reference (no rows) or with none
    of its hidden groups here: ``shown``."""
    hidden_there = {r["group"] for r in reference_rows if r["suppressed"]}
    there = [i for i, g in enumerate(groups) if g in hidden_there]
    if not there:
        return shown
    gone = hidden_rows([int(v) for v in sizes.tolist()], min_n=min_n,
                       flagged=[*np.flatnonzero(~shown).tolist(), *there], secondary=secondary)  # fmt: skip
    out = np.ones(len(groups), dtype=bool)
    out[sorted(gone)] = False
    return out


def _finish(
    fit: OverdispersionFit | None,
    used: np.ndarray,
    groups: Sequence[str],
    rows: list[dict[str, Any]],
    level: float,
    min_n: int,
    secondary: bool,
    reference: Comparison | None = None,
) -> Comparison:
    if fit is None:
        od: dict[str, Any] = {"method": "none", "phi": None, "tau2": None, "excluded": []}
        target = None
    else:
        od = fit.as_dict()
        if reference is None:
            od["excluded"] = [groups[int(used[i])] for i in fit.excluded]
        else:  # the reference's outliers, named only among these rows
            mine = set(groups)
            od["excluded"] = [g for g in reference.overdispersion["excluded"] if g in mine]
        target = fit.target
    if reference is not None:
        target = reference.target
    if reference is not None:
        # A group hidden in the full comparison stays hidden from a partial view (and counts
        # as hidden for the secondary suppression of these rows).
        hidden_there = {r["group"] for r in reference.rows if r["suppressed"]}
        rows = [{**r, "suppressed": True} if r["group"] in hidden_there else r for r in rows]
    rows = suppress(rows, min_n=min_n, secondary=secondary)
    hidden = {r["group"] for r in rows if r["suppressed"]}
    # A group hidden by secondary suppression must not be named as an outlier either.
    od["excluded"] = [g for g in od["excluded"] if g not in hidden]
    return Comparison(target=target, overdispersion=od, rows=rows, level=level, fit=fit)
