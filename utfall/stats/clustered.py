"""Clients answering more than once in a period: cluster-robust effective counts (issue 10.5).

A client followed up several times in a quarter gives answers that resemble each other, so
the n answers carry less information than n independent ones: Wilson's interval on the raw
counts covered the true rate in 91 %, not 95 % (the audit). The rate itself stays Σx/Σn (as
everywhere else in utfall); its variance is the cluster-robust (sandwich) variance of a ratio
estimator over the k clients,

    V = k/(k − 1) · Σ_c (x_c − p·n_c)² / (Σn)²,

and the counts are replaced by Kish's *effective* counts n_eff = p(1 − p)/V (at most n: a
chance calm never narrows the interval below the binomial one), x_eff = p·n_eff. Wilson's
interval, Newcombe's difference and the p′ chart are then computed on the effective counts.
When no client answers twice in the period nothing changes (n_eff = n exactly).

The sums are per period: n, x, k (clients), Σn_c², Σx_c·n_c, Σx_c², so the database returns
one row per client and period and nothing else.

Validated by seeded simulation (``tests/stats/test_clustered.py``): clients with 1–4
follow-ups a quarter and a client effect (logit sd 1.0): Wilson on the raw counts covers in
about 88–91 %, on the effective counts in 93–96 %; with one answer per client the counts are
unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["effective_counts"]

FloatArray = NDArray[np.float64]


def effective_counts(
    events: ArrayLike,
    n: ArrayLike,
    clients: ArrayLike,
    sum_n2: ArrayLike,
    sum_xn: ArrayLike,
    sum_x2: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """(x_eff, n_eff) per period from the per-client sums (see the module's formula)."""
    x = np.atleast_1d(np.asarray(events, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    k = np.atleast_1d(np.asarray(clients, dtype=np.float64))
    nn = np.atleast_1d(np.asarray(sum_n2, dtype=np.float64))
    xn = np.atleast_1d(np.asarray(sum_xn, dtype=np.float64))
    xx = np.atleast_1d(np.asarray(sum_x2, dtype=np.float64))
    n_eff = m.copy()
    repeated = (nn > m) & (k > 1) & (m > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(m > 0, x / m, 0.0)
        spread = xx - 2.0 * p * xn + p * p * nn  # Σ (x_c − p n_c)²
        v = k / (k - 1.0) * spread / (m * m)
        binomial = p * (1.0 - p)
        ok = repeated & (v > 0) & (binomial > 0)
        n_eff[ok] = np.minimum(m[ok], binomial[ok] / v[ok])
    return p * n_eff, n_eff
