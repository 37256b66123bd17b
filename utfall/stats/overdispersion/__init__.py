"""Funnel limits that allow for real between-provider spread (overdispersion).

Providers differ more than binomial (or Poisson) noise: case mix, staff, chance. Limits
that ignore this flag far too many providers; limits widened by a non-robust estimate let
a few extreme providers hide the rest. The default, ``"truncated-ml"`` (since 2026-12-02,
issue 10.2; module ``truncated``), fits the same random-effects model by maximum likelihood
with the groups outside 99 % left out and the rest truncated there, starting from
``"robust-re"``, and computes the limits by adaptive quadrature; ``"robust-re"`` (the default
before) stays selectable by name. ``"robust-re"`` (decision and simulation figures in
docs/statistics.md):

1. Random-effects model on the logit scale (proportions) or log scale (O/E ratios):
   the true value of a provider is centre + τ·u with u ~ N(0, 1).
2. τ² and the centre are estimated by a Huber-type estimator: z-scores
   ``(y − centre)/sqrt(v + τ²)`` are winsorised at ±1 and τ² solves
   mean(winsorised z²) = E[winsorised Z²] (a consistency correction, so the estimate
   is unbiased when nothing is wrong, unlike the textbook 10 % winsorisation), with
   y the empirical logit, v the binomial variance at the target.
3. Groups outside the 99 % limits are left out and the fit is repeated until the set
   left out is stable; those groups are reported as ``excluded``.
4. Limits are the exact quantiles of the fitted predictive distribution (binomial or
   Poisson mixed over the logit-/log-normal spread, by Gauss–Hermite quadrature), with
   Spiegelhalter's interpolation between counts, so a group is flagged exactly when its
   tail probability is below 0.1 % (99.8 % limits). The target is the predictive mean.

The textbook variants are kept for comparison and for the reference vectors:
``"spiegelhalter-additive"`` (NHS/CQC: 10 % winsorised z on the rate scale, additive τ²,
normal limits), ``"spiegelhalter-multiplicative"`` (φ), ``"dersimonian-laird"`` (additive,
no winsorisation) and ``"none"`` (exact binomial/Poisson limits around the target).

Layout: ``limits`` holds the fitted funnel (:class:`~.limits.OverdispersionFit`) and the
exact mixture limits every method shares; ``robust`` the default method; ``classic`` the
textbook estimators. This module is the entry point (:func:`fit_overdispersion`, which
memoises fits); a new method is a module beside them and a branch in ``_fit``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from utfall.stats.overdispersion import store
from utfall.stats.overdispersion.classic import fit_textbook
from utfall.stats.overdispersion.limits import FloatArray, Kind, OverdispersionFit
from utfall.stats.overdispersion.robust import fit_robust
from utfall.stats.overdispersion.truncated import fit_truncated

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "clear_fit_cache",
    "fit_overdispersion",
    "stored_fits",
]

stored_fits = store.stored_fits

DEFAULT_METHOD = "truncated-ml"
METHODS = (
    "truncated-ml",
    "robust-re",
    "spiegelhalter-additive",
    "spiegelhalter-multiplicative",
    "dersimonian-laird",
    "none",
)


def fit_overdispersion(
    events: ArrayLike,
    size: ArrayLike,
    *,
    kind: Kind = "proportion",
    method: str = DEFAULT_METHOD,
    target: float | None = None,
) -> OverdispersionFit:
    """Fit the funnel for events out of n (``kind="proportion"``) or observed O with expected E
    (``kind="ratio"``, target defaulting to 1 for the textbook methods).

    ``method`` is one of :data:`METHODS`; ``target`` fixes the centre (default: estimated —
    the predictive mean for ``"truncated-ml"`` and ``"robust-re"``, the pooled Σx/Σn (ΣO/ΣE)
    otherwise).
    Groups with size 0 or NaN must be removed by the caller.

    Validated: the DL step against ``reference/dersimonian_laird_metafor.json`` (rel 1e-9);
    SHMI φ against ``reference/funnelplotr_overdispersion.json`` (6 dp); ``"none"`` limits
    reduce to exact binomial/Poisson quantiles (tested against scipy). The random-effects
    methods have no external vector; they are validated by seeded simulation (figures in
    docs/statistics.md): ``"truncated-ml"`` by ``bench/bench_flags.py`` and
    ``tests/stats/test_truncated.py`` (≤ 0.5 % of providers flagged under the null in every
    cell of the grid and among n ≥ 200), ``"robust-re"`` by tests marked slow.
    """
    if method not in METHODS:
        raise ValueError(f"unknown overdispersion method {method!r}; use one of {METHODS}")
    x = np.asarray(events, dtype=np.float64)
    m = np.asarray(size, dtype=np.float64)
    if x.shape != m.shape or x.ndim != 1:
        raise ValueError("events and size must be 1-d arrays of the same length")
    # A fit depends on nothing but its arguments (and is immutable), so the same counts asked
    # again (the same indicator on another page, a download of the page) reuse it.
    key = (x.tobytes(), m.tobytes(), kind, method, target)
    found: OverdispersionFit | None = _FITS.get(key)
    if found is not None:
        return found
    # A second tier: the fit stored by an earlier process for the same arguments and code
    # (``store``; only inside ``stored_fits``, the caller naming whose counts these are).
    fit, unknown = store.lookup(key)
    if fit is None:
        fit = _fit(x, m, kind, method, target)
        if unknown is not None:
            store.remember(unknown, fit)
    _FITS.put(key, fit)
    return fit


_FITS = store.Memo(512)


def clear_fit_cache() -> None:
    """Forget every fit and every result kept with them in this process (benchmarks measure a
    first request with this)."""
    _FITS.clear()
    store.clear_results()  # and the other results kept with them (store.kept_result)


def _fit(x: FloatArray, m: FloatArray, kind: Kind, method: str, target: float | None) -> OverdispersionFit:
    if x.size == 0 or np.any(~np.isfinite(m)) or np.any(m <= 0) or np.any(~np.isfinite(x)):
        raise ValueError("every group needs a finite count and a positive size")
    if kind == "proportion" and np.any(x > m):
        raise ValueError("events cannot exceed n")
    pooled = float(x.sum() / m.sum())
    degenerate = pooled <= 0.0 or (kind == "proportion" and pooled >= 1.0)
    if method == "truncated-ml" and x.size >= 3 and not degenerate:
        return fit_truncated(kind, x, m, target)
    if method == "robust-re" and x.size >= 3 and not degenerate:
        return fit_robust(kind, x, m, target)
    if target is None:
        target = pooled
    scale = "proportion" if kind == "proportion" else "ratio"
    edge = target <= 0.0 or (kind == "proportion" and target >= 1.0)
    if method in ("none", "robust-re", "truncated-ml") or edge or degenerate:
        # Too few groups or no variation to estimate a spread from: exact limits only.
        with np.errstate(divide="ignore"):
            centre = float(special.logit(target) if kind == "proportion" else np.log(target))
        return OverdispersionFit(
            method="none", kind=kind, target=target, phi=1.0, tau2=0.0, scale=scale, centre=centre
        )
    return fit_textbook(x, m, kind, method, target)
