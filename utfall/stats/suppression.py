"""The one disclosure-control function every output goes through (DESIGN invariant 2).

Rows are dicts (the comparison table's shape). Primary suppression blanks every row
whose n is below the minimum. Secondary suppression stops recovery by subtraction when
the rows partition a total that is shown or derivable: while the suppressed rows could be
recovered from the total minus the visible rows — one suppressed row alone, or several
whose n's sum to less than the minimum — the smallest visible row is suppressed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_MIN_N", "LOWEST_MIN_N", "hidden_rows", "suppress"]

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
    out = [dict(row) for row in rows]
    sizes = []
    for row in out:
        n = row.get(n_key)
        sizes.append(0 if n is None else n)
    flagged = [i for i, row in enumerate(out) if row.get("suppressed")]
    hidden = hidden_rows(sizes, min_n=min_n, flagged=flagged, secondary=secondary)
    for i, row in enumerate(out):
        if i in hidden:
            for key in row:
                if key not in _KEPT:
                    row[key] = None
            row["suppressed"] = True
        else:
            row["suppressed"] = False
    return out


def hidden_rows(
    sizes: Sequence[int], *, min_n: int = DEFAULT_MIN_N, flagged: Iterable[int] = (), secondary: bool = True
) -> set[int]:
    """The positions :func:`suppress` hides among rows of these ``sizes`` (n) when the rows at
    ``flagged`` come already marked ``suppressed``: the rule itself, on the sizes alone, for a
    caller that needs only which rows are hidden (a partition's cells in
    :func:`utfall.stats.disclosure.hidden_in_partitions`: 750 providers a partition, dozens of
    partitions a provider page, each once copied as rows only to read their flags back)."""
    if min_n < LOWEST_MIN_N:
        raise ValueError(f"min_n must be at least {LOWEST_MIN_N}, got {min_n}")
    hidden = {i for i, n in enumerate(sizes) if n < min_n}
    hidden.update(flagged)
    if secondary and hidden:
        while True:
            recoverable = len(hidden) == 1 or sum(sizes[i] for i in hidden) < min_n
            visible = [i for i in range(len(sizes)) if i not in hidden]
            if not recoverable or not visible:
                break
            hidden.add(min(visible, key=lambda i: (sizes[i], i)))
    return hidden
