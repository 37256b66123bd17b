"""Disclosure control over linked tables (issue 10.6): pure functions, no database.

Two methods from the statistical-disclosure tradition:

* **Suppression over linked partitions** (τ-ARGUS / sdcTable's hierarchical approach). A
  published cell is a set of conditions (``provider=P``, ``sex=female`` …) over a period.
  Every cell is a child in several partitions: its parent without one of its conditions,
  split along that condition's dimension, and its parent period (month → quarter → half-year
  → year) split into the periods of the cell's length. Each partition is protected on its
  own with :func:`utfall.stats.suppression.suppress` (primary: n below the minimum; secondary:
  until the hidden cells' total is at least the minimum and never a single cell), and a cell
  is shown only when it is shown in *every* partition it belongs to. Because the rule
  depends on the cell (its condition set and period) and not on how it was asked for, the
  same cell is hidden in the comparison by age group, in the women-and-men table, in the
  API, a download or a report — no table fills what another hid.

* **Cell-key perturbation** (the ABS TableBuilder method) for files that leave the
  municipality (:func:`perturb`): each cell's count is moved by a small amount drawn from a
  fixed perturbation table, chosen by a key that is a keyed hash of the cell's description,
  so the same cell always gets the same value (asking again, or through another path, gives
  nothing new) and differences of two cells carry noise of ±4 instead of the exact count.

Validated by the differencing-attack tests in ``tests/disclosure`` (each attack recovers a
planted cell on the unprotected counts and fails on the protected ones) and by the
property tests of :mod:`utfall.stats.suppression`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from utfall.stats.suppression import hidden_rows

__all__ = ["PERTURBATION", "hidden_in_partitions", "perturb"]


def hidden_in_partitions(partitions: Iterable[Mapping[str, int]], *, min_n: int) -> set[tuple[int, str]]:
    """The (partition index, cell) pairs hidden when each partition — its cells' n by cell
    — is protected by primary and secondary suppression. Cells with n = 0 are empty, never
    hidden, and do not count toward a partition's hidden total."""
    hidden: set[tuple[int, str]] = set()
    for index, cells in enumerate(partitions):
        keys = [k for k, n in cells.items() if n]
        # The rule of suppress() on the sizes alone (hidden_rows), without a row dict per cell.
        hidden |= {(index, keys[i]) for i in hidden_rows([cells[k] for k in keys], min_n=min_n)}
    return hidden


#: The perturbation table: (noise, weight out of 256). Mean 0, variance 1.2; a count is never
#: moved below 0. Written out, not drawn, so every installation perturbs the same way and the
#: table can be published (the method's protection is the secret key, not the table).
PERTURBATION: tuple[tuple[int, int], ...] = ((-2, 16), (-1, 48), (0, 128), (1, 48), (2, 16))


def _noise(key: bytes) -> int:
    slot = key[0]  # uniform over 0–255
    for noise, weight in PERTURBATION:
        if slot < weight:
            return noise
        slot -= weight
    raise AssertionError("the perturbation table's weights sum to 256")  # pragma: no cover


def perturb(n: int, events: int, *, cell: str, secret: bytes, min_n: int) -> tuple[int, int] | None:
    """(n, events) of a cell after cell-key perturbation, or None when the cell is not
    published (its perturbed n below ``min_n``).

    ``cell`` describes the cell canonically (indicator, period, sorted conditions); the key
    is HMAC-SHA256(secret, cell), so the noise is fixed per cell and unknown without the
    secret. n and events get independent noise from :data:`PERTURBATION`; events stays
    within 0..n. A cell with n = 0 stays 0 (ABS: empty cells are not perturbed).
    """
    if n <= 0:
        return None
    digest = hmac.new(secret, cell.encode("utf-8"), hashlib.sha256).digest()
    size = max(0, n + _noise(digest[:1]))
    if size < min_n:
        return None
    positive = min(size, max(0, events + _noise(digest[1:2])))
    return size, positive
