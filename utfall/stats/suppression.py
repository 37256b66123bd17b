"""The one disclosure-control function every output goes through (DESIGN invariant 2).

Rows are dicts (the comparison table's shape). Primary suppression blanks every row
whose n is below the minimum. Secondary suppression stops recovery by subtraction when
the rows partition a total that is shown or derivable: while the suppressed rows could be
recovered from the total minus the visible rows — one suppressed row alone, or several
whose n's sum to less than the minimum — the smallest visible row is suppressed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DEFAULT_MIN_N", "LOWEST_MIN_N", "suppress"]

DEFAULT_MIN_N = 5
#: The minimum may be raised by configuration, never lowered below this.
LOWEST_MIN_N = 3

#: Keys kept on a suppressed row; every other value becomes None.
_KEPT = frozenset({"group", "suppressed"})


def suppress(
    rows: Iterable[Mapping[str, Any]],
    *,
    min_n: int = DEFAULT_MIN_N,
    secondary: bool = True,
    n_key: str = "n",
) -> list[dict[str, Any]]:
    """Return copies of ``rows`` with small groups blanked and ``suppressed`` set.

    ``secondary=True`` means the rows partition a total that is shown or can be derived
    (the usual case for a comparison table); pass False only when no total of these rows
    is published anywhere. A suppressed row keeps ``group`` and ``suppressed=True``;
    every count, rate, interval, limit and flag becomes None. Row order is kept.

    Raises ValueError when ``min_n`` is below 3. Validated by property-based tests: no
    visible row has n < min_n, and the suppressed rows' total n (the only thing the
    total minus the visible rows reveals) is never below min_n or a single row.
    """
    if min_n < LOWEST_MIN_N:
        raise ValueError(f"min_n must be at least {LOWEST_MIN_N}, got {min_n}")
    out = [dict(row) for row in rows]
    sizes = []
    for row in out:
        n = row.get(n_key)
        sizes.append(0 if n is None else n)
    hidden = {i for i, n in enumerate(sizes) if n < min_n or bool(out[i].get("suppressed"))}
    if secondary and hidden:
        while True:
            recoverable = len(hidden) == 1 or sum(sizes[i] for i in hidden) < min_n
            visible = [i for i in range(len(out)) if i not in hidden]
            if not recoverable or not visible:
                break
            hidden.add(min(visible, key=lambda i: (sizes[i], i)))
    for i, row in enumerate(out):
        if i in hidden:
            for key in row:
                if key not in _KEPT:
                    row[key] = None
            row["suppressed"] = True
        else:
            row["suppressed"] = False
    return out
