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

__all__ = ["DEFAULT_MIN_N", "LOWEST_MIN_N", "hidden_rows", "shown_among", "suppress"]

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


def shown_among(
    n: int, place: Any, others: Iterable[tuple[int, Any]], *, min_n: int = DEFAULT_MIN_N
) -> bool | None:
    """Whether :func:`hidden_rows` leaves a row of size ``n`` shown in a partition (secondary
    suppression on, nothing flagged, empty rows left out as in
    :func:`utfall.stats.disclosure.hidden_in_partitions`), decided from *some* of the other
    rows only: ``others``, (n, place) each, where ``place`` orders the rows as they stand (ties of
    n go to the first). True or False when these rows decide it whatever the rest are; None
    when they do not (the caller then runs the rule on the whole partition).

    The rule hides the rows under the minimum and then, while the hidden rows could be
    recovered (one alone, or a total under the minimum), the smallest visible row (first on a
    tie); each such row is at least the minimum, so one is ever added. A row of at least the
    minimum is therefore shown when two small rows with a total of at least the minimum are
    among the others (nothing is added), or when a visible row before it in (n, place) is (the
    one added is not this one). Tested against :func:`hidden_rows` on random partitions."""
    if n < min_n:
        return n == 0  # an empty row is never hidden; a small one always is
    small = 0
    total = 0
    for size, other in others:
        if size >= min_n:
            if (size, other) < (n, place):
                return True
        elif size:
            small += 1
            total += size
            if small >= 2 and total >= min_n:
                return True
    return None
